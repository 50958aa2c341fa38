#!/usr/bin/env bash
# oktasyncctl sync list: runs newest first, filters, limit, held reason; tenant show's last sync.
source "$(dirname "$0")/ctl_lib.sh"
fresh_database
export OKTASYNC_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
expect_rc 0 "migrate" -- "$CTL" migrate
expect_rc 0 "sync list empty" -- "$CTL" sync list --json
expect_eq "$OUT" "[]" "no runs"
for t in acme beta; do
    expect_rc 0 "add $t" -- "$CTL" tenant add --subdomain $t --okta-domain $t.okta.com \
        --app-id 0oa1 --client-id 0oc1 --api-token tok
done
expect_rc 0 "show without runs" -- "$CTL" tenant show acme --json
expect_eq "$(jq -r .last_sync <<<"$OUT")" "null" "no last sync yet"
sql "INSERT INTO sync_runs (tenant_id, scheduled_for, status, users_seen, users_deactivated, held_reason, started_at, finished_at)
     SELECT id, '2026-11-26T03:00Z', 'succeeded', 10, 0, NULL, '2026-11-26T03:00:01Z', '2026-11-26T03:00:09Z' FROM tenants WHERE subdomain = 'acme';
     INSERT INTO sync_runs (tenant_id, scheduled_for, status, users_seen, users_deactivated, held_reason)
     SELECT id, '2026-11-27T03:00Z', 'held', 900, 812, 'would deactivate 812 of 900 users' FROM tenants WHERE subdomain = 'acme';
     INSERT INTO sync_runs (tenant_id, scheduled_for, status) SELECT id, '2026-11-27T04:00Z', 'failed' FROM tenants WHERE subdomain = 'beta';"

expect_rc 0 "sync list" -- "$CTL" sync list --json
expect_eq "$(jq -r 'map(.subdomain + "/" + .status) | join(",")' <<<"$OUT")" \
    "beta/failed,acme/held,acme/succeeded" "newest first"
expect_rc 0 "sync list tenant" -- "$CTL" sync list acme --json
expect_eq "$(jq -r 'length' <<<"$OUT")" "2" "one tenant"
expect_rc 0 "sync list held" -- "$CTL" sync list --status held --json
expect_eq "$(jq -r '.[0].held_reason + "|" + (.[0].users_deactivated|tostring)' <<<"$OUT")" \
    "would deactivate 812 of 900 users|812" "held run details"
expect_rc 0 "sync list limit" -- "$CTL" sync list --limit 1 --json
expect_eq "$(jq -r 'length' <<<"$OUT")" "1" "limit"
expect_rc 0 "sync list human" -- "$CTL" sync list
grep -q "held .*would deactivate 812 of 900 users" <<<"$OUT" && ok || bad "human list: $OUT"

expect_rc 0 "show last sync" -- "$CTL" tenant show acme --json
expect_eq "$(jq -r '.last_sync.status + "|" + .last_sync.scheduled_for' <<<"$OUT")" \
    "held|2026-11-27T03:00:00Z" "tenant show reports the latest run"

expect_rc 2 "bad status" -- "$CTL" sync list --status paused
expect_err "invalid value for --status"
expect_rc 2 "bad limit" -- "$CTL" sync list --limit 5000
expect_err "invalid value for --limit"
expect_rc 2 "bad subcommand" -- "$CTL" sync frob
expect_err "unknown sync subcommand 'frob'"
expect_rc 0 "sync --help" -- "$CTL" sync list --help
finish
