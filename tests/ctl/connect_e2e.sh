#!/usr/bin/env bash
# oktasyncctl tenant connect against the simulator: each bad credential (API token, app id,
# OIDC client id, client secret — refused with Okta's 401 or with the 400 invalid_client that
# RFC 6749 allows) is named, exits 3 and changes nothing; success marks the tenant
# connected, clears a parked credentials fault and queues the first full sync (row + job, as
# the scheduler makes them); tenant add --connect does it in one step.
source "$(dirname "$0")/ctl_lib.sh"
source "${OKS_SOURCE_DIR:?}/scripts/lib/fleet.sh"
set -a; source "${OKTASYNC_STATE_DIR:-$OKS_SOURCE_DIR/.state}/stack.env"; set +a
fresh_database
DUMP=${OKS_TEST_BIN_DIR:?}/ctl_topic_dump
export OKTASYNC_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
work=$(mktemp -d)
trap 'oks_fleet_stop "$work" >/dev/null 2>&1; rm -rf "$work"; psql -q -X "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null' EXIT
topic="ctljobs$$x$RANDOM"
curl -fsS -X POST "$OKTASYNC_DEVBROKER_CONTROL/topics?name=$topic&partitions=2" >/dev/null ||
    bad "create topic"
export OKTASYNC_JOBS_TOPIC=$topic
oks_fleet_start "$work" sim "$OKS_BIN_DIR/oktasync-okta-sim" --listen 127.0.0.1:0 --users 5 \
    --seed 3 --token good-token --oidc-client-id 0oaclient1 --oidc-client-secret good-secret \
    >/dev/null || { bad "sim start"; finish; exit 1; }
sim=$(oks_fleet_addr "$work" sim http)
app=$(curl -fsS "$sim/__sim/info" | jq -r .app_id)

expect_rc 0 "migrate" -- "$CTL" migrate
expect_rc 0 "add" -- "$CTL" tenant add --subdomain acme --okta-domain "$sim" --app-id "$app" \
    --client-id 0oaclient1 --api-token good-token --client-secret good-secret
ID=$(sql "SELECT id FROM tenants WHERE subdomain = 'acme'")
# a parked credentials fault, as the reconciler leaves it
sql "INSERT INTO tenant_okta_state (tenant_id, fault, fault_reason, fault_since, attempts)
     VALUES ('$ID', 'credentials_invalid', 'E0000011 Invalid token provided', now(), 3)"
state() {
    sql "SELECT (SELECT row(connected_at, connect_error, updated_at)::text FROM tenants WHERE id = '$ID')
         || (SELECT coalesce(fault, '-') || attempts FROM tenant_okta_state WHERE tenant_id = '$ID')
         || (SELECT count(*) FROM sync_runs)"
}
before=$(state)

# each bad credential: exit 3, one line naming it, nothing changed
expect_rc 0 "bad token" -- "$CTL" tenant set acme --api-token wrong-token
before=$(state)
expect_rc 3 "connect bad token" -- "$CTL" tenant connect acme
expect_err "api-token refused by Okta"
expect_eq "$(state)" "$before" "bad token changes nothing"
expect_rc 0 "good token" -- "$CTL" tenant set acme --api-token good-token --app-id 0oanotthere
before=$(state)
expect_rc 3 "connect bad app id" -- "$CTL" tenant connect acme
expect_err "app-id 0oanotthere not found"
expect_eq "$(state)" "$before" "bad app id changes nothing"
expect_rc 0 "good app, bad client id" -- "$CTL" tenant set acme --app-id "$app" --client-id 0oawrong
before=$(state)
expect_rc 3 "connect bad client id" -- "$CTL" tenant connect acme
expect_err "client-id refused"
expect_eq "$(state)" "$before" "bad client id changes nothing"
expect_rc 0 "good client id, bad secret" -- "$CTL" tenant set acme --client-id 0oaclient1 \
    --client-secret wrong-secret
before=$(state)
expect_rc 3 "connect bad secret" -- "$CTL" tenant connect acme
expect_err "client-secret refused"
expect_eq "$(state)" "$before" "bad secret changes nothing"
# the same wrong secret answered 400 invalid_client (Okta answers 401; RFC 6749 §5.2 allows
# 400): still "client-secret refused", exit 3, nothing changed
curl -fsS -X POST "$sim/__sim/oidc" -d '{"invalid_client_status":400}' >/dev/null ||
    bad "sim invalid_client_status switch"
expect_rc 3 "connect bad secret, 400 invalid_client" -- "$CTL" tenant connect acme
expect_err "client-secret refused"
expect_err "(HTTP 400 invalid_client)"
expect_eq "$(state)" "$before" "bad secret (400) changes nothing"
curl -fsS -X POST "$sim/__sim/oidc" -d '{"invalid_client_status":401}' >/dev/null ||
    bad "sim invalid_client_status switch back"
expect_eq "$("$DUMP" "$topic" | jq length)" "0" "no job for a failed connect"

# Okta unreachable: exit 1, nothing changed
expect_rc 0 "unreachable domain" -- "$CTL" tenant set acme --client-secret good-secret \
    --okta-domain http://127.0.0.1:9
before=$(state)
expect_rc 1 "connect unreachable" -- "$CTL" tenant connect acme --okta-timeout 2s
expect_err "Okta API unreachable"
expect_eq "$(state)" "$before" "unreachable changes nothing"

# success: connected, fault cleared, first full sync queued (row + job)
expect_rc 0 "back to the sim" -- "$CTL" tenant set acme --okta-domain "$sim"
expect_rc 0 "connect" -- "$CTL" tenant connect acme --json
run=$(jq -r .first_sync_run_id <<<"$OUT")
expect_eq "$(jq -r .connected <<<"$OUT")" "true" "json says connected"
expect_eq "$(sql "SELECT connected_at IS NOT NULL AND connect_error IS NULL FROM tenants WHERE id = '$ID'")" \
    "t" "connected_at set"
expect_eq "$(sql "SELECT coalesce(fault, 'none') || ' ' || attempts FROM tenant_okta_state WHERE tenant_id = '$ID'")" \
    "none 0" "parked fault cleared"
expect_eq "$(sql "SELECT trigger || ' ' || status || ' ' || kind || ' ' || dry_run FROM sync_runs WHERE id = $run")" \
    "connect queued full_sync false" "first run queued"
expect_eq "$(sql "SELECT abs(extract(epoch FROM now() - scheduled_for)) < 60 FROM sync_runs WHERE id = $run")" \
    "t" "queued for now"
jobs=$("$DUMP" "$topic")
expect_eq "$(jq length <<<"$jobs")" "1" "one job"
expect_eq "$(jq -r '.[0].key' <<<"$jobs")" "$ID" "job keyed by tenant"
expect_eq "$(jq -r '.[0].headers.type' <<<"$jobs")" "full_sync" "job type header"
job=$(jq -r '.[0].value' <<<"$jobs")
expect_eq "$(jq -r '[.v, .kind, .tenant, .run_id] | map(tostring) | join(" ")' <<<"$job")" \
    "1 full_sync $ID $run" "job shape (the scheduler's)"
expect_eq "$(jq -r .scheduled_for <<<"$job" | cut -c1-19)" \
    "$(sql "SELECT to_char(scheduled_for AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') FROM sync_runs WHERE id = $run")" \
    "job slot is the row's"
expect_eq "$(sql "SELECT count(*) FROM audit_log WHERE action = 'tenant.connect'")" "1" "audited"

# tenant add --connect: one step; a refused credential leaves the tenant added, not connected
expect_rc 0 "add --connect" -- "$CTL" tenant add --subdomain beta --okta-domain "$sim" \
    --app-id "$app" --client-id 0oaclient1 --api-token good-token --client-secret good-secret \
    --connect --json
expect_eq "$(jq -r '.connect.connected' <<<"$OUT")" "true" "add --connect connected"
expect_eq "$(sql "SELECT count(*) FROM sync_runs r JOIN tenants t ON t.id = r.tenant_id WHERE t.subdomain = 'beta' AND r.trigger = 'connect'")" \
    "1" "add --connect queued the first run"
expect_rc 3 "add --connect bad token" -- "$CTL" tenant add --subdomain gamma --okta-domain "$sim" \
    --app-id "$app" --client-id 0oaclient1 --api-token nope --connect
grep -q "api-token refused" <<<"$ERR" && ok || bad "add --connect names the token: $ERR"
expect_eq "$(sql "SELECT connected_at IS NULL FROM tenants WHERE subdomain = 'gamma'")" "t" \
    "gamma added but not connected"

expect_rc 1 "connect unknown tenant" -- "$CTL" tenant connect nosuch
expect_err "tenant 'nosuch' not found"
expect_rc 2 "connect without subdomain" -- "$CTL" tenant connect
finish
