#!/usr/bin/env bash
# The worker's settings checked outside the table (secret-key needs the key parser, redis-url
# the URL parser) fail like the table's own: ONE line on stderr naming the flag and its
# environment variable, exit status 2, before anything connects.
set -u
exe=${OKS_BIN_DIR:?}/oktasync-worker
key=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
fail=0
expect() { # description, expected text, then the command's arguments
    local what=$1 want=$2; shift 2
    err=$("$@" 2>&1 >/dev/null); rc=$?
    lines=$(printf '%s\n' "$err" | grep -c .)
    if [ $rc -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -qF -- "$want" <<<"$err"; then
        echo "FAIL $what: rc=$rc lines=$lines: $err"; fail=$((fail+1))
    else
        echo "ok   $what"
    fi
}
expect "short key" "oktasync-worker: invalid value for --secret-key (OKTASYNC_SECRET_KEY):" \
    env -u OKTASYNC_SECRET_KEY "$exe" --secret-key abcd
expect "no key" "invalid value for --secret-key (OKTASYNC_SECRET_KEY): secret key is empty" \
    env -u OKTASYNC_SECRET_KEY "$exe"
expect "key from env" "invalid value for --secret-key (OKTASYNC_SECRET_KEY):" \
    env OKTASYNC_SECRET_KEY=zz "$exe"
expect "redis url" "invalid value for --redis-url (OKTASYNC_REDIS_URL):" \
    env -u OKTASYNC_SECRET_KEY "$exe" --secret-key $key --redis-url mysql://db/0
echo "$fail failed"
[ $fail -eq 0 ]
