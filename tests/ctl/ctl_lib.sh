# shellcheck shell=bash
# Helpers for the oktasyncctl end-to-end scripts: a fresh database on the stack's PostgreSQL,
# the binary under test, and assertions that count passes and failures.
set -u
CTL=${OKS_BIN_DIR:?}/oktasyncctl
UNSEAL=${OKS_TEST_BIN_DIR:?}/ctl_unseal
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
# expect_rc WANT DESCRIPTION -- command...
expect_rc() {
    local want=$1 what=$2
    shift 3
    local errf rc
    errf=$(mktemp) || { bad "$what: mktemp failed"; return; }
    OUT=$("$@" 2>"$errf")
    rc=$?
    ERR=$(<"$errf")
    rm -f "$errf"
    if [ "$rc" -eq "$want" ]; then ok; else bad "$what: exit $rc, want $want; stderr: $ERR"; fi
}
# expect_one_line_error SUBSTRING: the last command's stderr is exactly one line containing it
expect_err() {
    local lines
    lines=$(printf '%s\n' "$ERR" | grep -c .)
    if [ "$lines" -eq 1 ] && grep -qF -- "$1" <<<"$ERR"; then ok; else
        bad "stderr should be one line containing '$1', got: $ERR"
    fi
}
expect_eq() { if [ "$1" = "$2" ]; then ok; else bad "$3: got '$1', want '$2'"; fi; }

stack_db_url() {
    if [ -n "${OKTASYNC_DATABASE_URL:-}" ]; then echo "$OKTASYNC_DATABASE_URL"; return; fi
    local env_file=${OKTASYNC_STATE_DIR:-${OKS_SOURCE_DIR:?}/.state}/stack.env
    [ -r "$env_file" ] || { echo "FAIL: stack not up (no $env_file); run scripts/stack up" >&2; exit 1; }
    sed -n 's/^OKTASYNC_DATABASE_URL=//p' "$env_file"
}

# Creates a database, exports OKTASYNC_DATABASE_URL pointing at it, drops it on exit.
fresh_database() {
    ADMIN_URL=$(stack_db_url)
    DB_NAME="oks_ctl_$$_$RANDOM"
    psql -q -X -v ON_ERROR_STOP=1 "$ADMIN_URL" -c "CREATE DATABASE \"$DB_NAME\"" >/dev/null ||
        { echo "FAIL: cannot create database on $ADMIN_URL"; exit 1; }
    trap 'psql -q -X "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null' EXIT
    # same server and credentials, other database: replace the URL's path
    export OKTASYNC_DATABASE_URL
    OKTASYNC_DATABASE_URL=$(sed -E "s#^(postgres(ql)?://[^/]*)(/[^?]*)?#\\1/$DB_NAME#" <<<"$ADMIN_URL")
}
sql() { psql -X -q -At -v ON_ERROR_STOP=1 "$OKTASYNC_DATABASE_URL" -c "$1"; }

finish() {
    echo "$pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
