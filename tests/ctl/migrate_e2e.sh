#!/usr/bin/env bash
# oktasyncctl migrate: built-in set, --migrations-dir, and an edited applied migration.
source "$(dirname "$0")/ctl_lib.sh"
fresh_database
dir=$(mktemp -d)
trap 'rm -rf "$dir"; psql -q -X "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null' EXIT

expect_rc 0 "human migrate" -- "$CTL" migrate
grep -q "database is up to date" <<<"$OUT" && ok || bad "human output: $OUT"
expect_eq "$(sql "SELECT count(*) > 0 FROM schema_migrations")" "t" "recorded"
# the source directory holds the same files as the built-in set: nothing to apply
expect_rc 0 "migrate from source dir" -- "$CTL" migrate --migrations-dir "${OKS_SOURCE_DIR:?}/common/db/migrations" --json
expect_eq "$(jq -r .applied <<<"$OUT")" 0 "source dir equals built-in set"

# a directory of our own, on a second database would be cleaner; a new table prefix is enough
cp "$OKS_SOURCE_DIR"/common/db/migrations/*.sql "$dir"/
printf 'CREATE TABLE e2e_extra (x int);\n' >"$dir/9001_e2e_extra.sql"
expect_rc 0 "extra migration" -- env OKTASYNC_MIGRATIONS_DIR="$dir" "$CTL" migrate --json
expect_eq "$(jq -r .applied <<<"$OUT")" 1 "one new migration applied"
printf 'CREATE TABLE e2e_extra (x bigint);\n' >"$dir/9001_e2e_extra.sql"
expect_rc 1 "edited migration" -- "$CTL" migrate --migrations-dir "$dir"
expect_err "9001_e2e_extra.sql was changed after it was applied"
expect_rc 1 "missing directory" -- "$CTL" migrate --migrations-dir /nonexistent/oks
expect_err "cannot open migrations directory"
finish
