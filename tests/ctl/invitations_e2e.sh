#!/usr/bin/env bash
# oktasyncctl invitations list / mark-sent: the outbox contract a sending system relies on.
source "$(dirname "$0")/ctl_lib.sh"
fresh_database
export OKTASYNC_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
expect_rc 0 "migrate" -- "$CTL" migrate
for t in acme beta; do
    expect_rc 0 "add $t" -- "$CTL" tenant add --subdomain $t --okta-domain $t.okta.com \
        --app-id 0oa1 --client-id 0oc1 --api-token tok
done
expect_rc 0 "empty list" -- "$CTL" invitations list
expect_eq "$OUT" "no invitations" "empty human list"
# rows as the worker writes them (one per user)
sql "INSERT INTO users (tenant_id, okta_id, email) SELECT id, '00u' || n, 'u' || n || '@' || subdomain || '.test' FROM tenants, generate_series(1, 3) n"
sql "INSERT INTO invitations (tenant_id, user_id, email, created_at) SELECT tenant_id, id, email, now() - (id || ' minutes')::interval * -1 FROM users ORDER BY id"
ids=$(sql "SELECT string_agg(id::text, ' ' ORDER BY id) FROM invitations")
read -r -a ID <<<"$ids"

expect_rc 0 "list all" -- "$CTL" invitations list --json
expect_eq "$(jq length <<<"$OUT")" 6 "six invitations"
expect_eq "$(jq -c '.[0] | [.tenant, .okta_id, .email, .status, .sent_at, (.created_at | test("Z$")), (.tenant_id | length), (.user_id > 0)]' <<<"$OUT")" \
    '["acme","00u1","u1@acme.test","pending",null,true,36,true]' "a row carries what a sender needs"
expect_eq "$(jq -r 'map(.id) | join(" ")' <<<"$OUT")" "$ids" "oldest first"
expect_rc 0 "list one tenant" -- "$CTL" invitations list --tenant beta --json
expect_eq "$(jq -r 'map(.tenant) | unique | join(",")' <<<"$OUT")" "beta" "tenant filter"
expect_eq "$(jq length <<<"$OUT")" 3 "beta's three"
expect_rc 0 "limit" -- "$CTL" invitations list --limit 2
grep -q "first 2 shown" <<<"$OUT" && ok || bad "limit note: $OUT"
expect_eq "$(grep -c "@.*\.test" <<<"$OUT")" 2 "two rows shown"

# mark-sent: marks, reports, audits
expect_rc 0 "mark two" -- "$CTL" invitations mark-sent "${ID[0]}" "${ID[1]}" --json
expect_eq "$(jq -c '[.marked, .already_sent]' <<<"$OUT")" "[[${ID[0]},${ID[1]}],[]]" "marked"
expect_eq "$(sql "SELECT string_agg(status || ':' || (sent_at IS NOT NULL), ',' ORDER BY id) FROM invitations WHERE id IN (${ID[0]}, ${ID[1]}, ${ID[2]})")" \
    "sent:true,sent:true,pending:false" "status and sent_at"
sent_at=$(sql "SELECT sent_at FROM invitations WHERE id = ${ID[0]}")
# idempotent: marking again reports, changes nothing (sent_at kept)
expect_rc 0 "mark again" -- "$CTL" invitations mark-sent "${ID[0]}" "${ID[2]}"
grep -q "invitation ${ID[0]}: already sent, unchanged" <<<"$OUT" && ok || bad "already sent: $OUT"
grep -q "invitation ${ID[2]}: marked sent" <<<"$OUT" && ok || bad "marked: $OUT"
expect_eq "$(sql "SELECT sent_at FROM invitations WHERE id = ${ID[0]}")" "$sent_at" "sent_at unchanged"
expect_eq "$(sql "SELECT count(*) FROM audit_log WHERE entity = 'invitation' AND action = 'mark_sent'")" \
    3 "one audit row per invitation marked"
expect_rc 0 "pending only" -- "$CTL" invitations list --status pending --json
expect_eq "$(jq -r 'map(.id) | join(" ")' <<<"$OUT")" "${ID[3]} ${ID[4]} ${ID[5]}" "pending filter"
expect_rc 0 "sent only" -- "$CTL" invitations list --status sent --json
expect_eq "$(jq -r 'map(.status) | unique | join(",")' <<<"$OUT")" "sent" "sent filter"
expect_rc 0 "human list" -- "$CTL" invitations list --status sent
grep -q "^${ID[0]} .*acme .*00u1 .*u1@acme.test .*sent .*Z .*Z$" <<<"$OUT" && ok || bad "human row: $OUT"

# all or nothing: an unknown id marks nothing
expect_rc 1 "unknown id" -- "$CTL" invitations mark-sent "${ID[3]}" 999999
expect_err "no invitation 999999 (nothing was marked)"
expect_eq "$(sql "SELECT status FROM invitations WHERE id = ${ID[3]}")" "pending" "nothing marked"

# bad usage: exit 2, one line
bad_case() { local want=$1; shift 2; expect_rc 2 "$*" -- "$CTL" "$@"; expect_err "$want"; }
bad_case "needs at least one invitation ID" -- invitations mark-sent
bad_case "invalid invitation ID \"x1\"" -- invitations mark-sent x1
bad_case "invalid invitation ID \"0\"" -- invitations mark-sent 0
bad_case "invalid value for --status" -- invitations list --status done
bad_case "invalid value for --limit" -- invitations list --limit 0
bad_case "invalid value for --tenant" -- invitations list --tenant Bad_Name
bad_case "unknown invitations subcommand 'send'" -- invitations send
bad_case "missing invitations subcommand" -- invitations
expect_rc 1 "unknown tenant" -- "$CTL" invitations list --tenant nope
expect_err "no tenant with subdomain 'nope'"
for cmd in "invitations" "invitations list" "invitations mark-sent"; do
    # shellcheck disable=SC2086
    expect_rc 0 "$cmd --help" -- "$CTL" $cmd --help
    grep -q "Usage: oktasyncctl invitations" <<<"$OUT" && ok || bad "'$cmd --help': $OUT"
done
finish
