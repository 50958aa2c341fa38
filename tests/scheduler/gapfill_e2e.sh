#!/usr/bin/env bash
# Gap fill end to end: the simulator's hook drop switch loses two of three deliveries; the
# scheduler's gap fill reads the System Log since the tenant was connected, republishes the two
# missed events (not the delivered one) through the events topic, and the worker applies them.
# Run again with nothing missed it costs exactly one System Log request; while another replica
# holds the tenant's advisory lock it makes none.
set -uo pipefail
src=${OKS_SOURCE_DIR:?}; bin=${OKS_BIN_DIR:?}
source "$src/scripts/lib/fleet.sh"
set -a; source "${OKTASYNC_STATE_DIR:-$src/.state}/stack.env"; set +a
work=$(mktemp -d); passed=0; failed=0
db="oks_gap_$$_$RANDOM"; run="gap$$x$RANDOM"
admin_db=$OKTASYNC_DATABASE_URL
cleanup() {
    [ -n "${lockpid:-}" ] && kill "$lockpid" 2>/dev/null
    oks_fleet_stop "$work" >/dev/null 2>&1
    psql "$admin_db" -XAtq -c "drop database if exists \"$db\" with (force)" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
ok() { echo "  ok $1"; passed=$((passed+1)); }
bad() { echo "  FAIL $1"; failed=$((failed+1)); }
finish() { echo "$passed passed, $failed failed"; [ $failed -eq 0 ]; exit $?; }
wait_for() { local t=$(( $1 * 10 )); shift; for _ in $(seq 1 $t); do "$@" && return 0; sleep 0.1; done; return 1; }
psql "$admin_db" -XAtq -c "create database \"$db\"" || { bad "create database"; finish; }
export OKTASYNC_DATABASE_URL="${admin_db%/*}/$db"
export OKTASYNC_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
q() { psql "$OKTASYNC_DATABASE_URL" -XAtq -c "$1"; }
"$bin/oktasyncctl" migrate >/dev/null || { bad "migrate"; finish; }
for t in events jobs dead-letter; do
    curl -fsS -X POST "$OKTASYNC_DEVBROKER_CONTROL/topics?name=$run-$t&partitions=2" >/dev/null
done
oks_fleet_start "$work" sim "$bin/oktasync-okta-sim" --listen 127.0.0.1:0 --users 6 --seed 21 \
    --token gap-token >/dev/null || { bad "sim start"; finish; }
sim=$(oks_fleet_addr "$work" sim http)
app=$(curl -fsS "$sim/__sim/info" | jq -r .app_id)
tenant=$("$bin/oktasyncctl" --json tenant add --subdomain "gap$$" --okta-domain "$sim" \
    --app-id "$app" --client-id c1 --api-token gap-token) || { bad "tenant add"; finish; }
secret=$(jq -r .webhook_secret <<<"$tenant"); tid=$(jq -r .id <<<"$tenant")
common=(--admin-listen 127.0.0.1:0 --kafka-brokers "$OKTASYNC_KAFKA_BROKERS")
oks_fleet_start "$work" ingest "$bin/oktasync-ingest" "${common[@]}" --http-listen 127.0.0.1:0 \
    --kafka-topic "$run-events" >/dev/null || { bad "ingest start"; finish; }
oks_fleet_start "$work" worker "$bin/oktasync-worker" "${common[@]}" --group-id "$run-g" \
    --events-topic "$run-events" --jobs-topic "$run-jobs" --dead-letter-topic "$run-dead-letter" \
    --kafka-config "session.timeout.ms=6000;heartbeat.interval.ms=500" >/dev/null ||
    { bad "worker start"; finish; }
hook="$(oks_fleet_addr "$work" ingest http)/webhooks/okta/gap$$"
curl -fsS -X POST "$sim/__sim/hooks" -H 'Content-Type: application/json' \
    -d "$(jq -n --arg u "$hook" --arg s "$secret" '{url:$u, secret:$s, window_ms:50}')" >/dev/null
mapfile -t users < <(curl -fsS "$sim/api/v1/apps/$app/users?limit=3&expand=user" \
    -H 'Authorization: SSWS gap-token' | jq -r '.[].id')
# connected now: the gap fill reads the System Log from here
sleep 1.1
q "update tenants set connected_at = now() where id = '$tid'" >/dev/null
sleep 1.1
hooks_idle() { curl -fsS "$sim/__sim/hooks/stats" | jq -e '.idle' >/dev/null; }
drop_next() { curl -fsS -X POST "$sim/__sim/hooks" -d '{"drop_next":1}' >/dev/null; }

title_is() { [ "$(q "select title from users where okta_id='$1'")" = "$2" ]; }
echo "RUN  the third user is stored first (a deactivation only touches a stored user)"
curl -fsS -X POST "$sim/__sim/users/${users[2]}/profile" -d '{"title":"Stored"}' >/dev/null
wait_for 20 hooks_idle
wait_for 30 title_is "${users[2]}" "Stored" && ok "third user stored" || bad "third user not stored"
echo "RUN  two of three hook deliveries dropped"
drop_next
curl -fsS -X POST "$sim/__sim/users/${users[0]}/profile" -d '{"title":"Gap Title One"}' >/dev/null
wait_for 20 hooks_idle
curl -fsS -X POST "$sim/__sim/users/${users[1]}/profile" -d '{"title":"Delivered Title"}' >/dev/null
wait_for 20 hooks_idle
drop_next
curl -fsS -X POST "$sim/__sim/users/${users[2]}/deactivate" >/dev/null
wait_for 20 hooks_idle
stats=$(curl -fsS "$sim/__sim/hooks/stats")
dropped=$(jq .events_dropped <<<"$stats")
[ "$(jq .dropped <<<"$stats")" = 2 ] && [ "$dropped" -ge 2 ] && ok "2 deliveries ($dropped events) dropped" ||
    bad "drop switch: $stats"
wait_for 30 title_is "${users[1]}" "Delivered Title" && ok "delivered event applied" ||
    bad "delivered event not applied"
title_is "${users[0]}" "Gap Title One" && bad "dropped event applied without gap fill" ||
    ok "dropped event missing before gap fill"

logs_calls() { curl -fsS "$sim/__sim/stats" | jq '.per_endpoint["GET /api/v1/logs"] // 0'; }
sched() {
    "$bin/oktasync-scheduler" --once --admin-listen 127.0.0.1:0 --kafka-brokers "$OKTASYNC_KAFKA_BROKERS" \
        --jobs-topic "$run-jobs" --events-topic "$run-events" --gap-fill-margin 0s "$@" \
        >>"$work/sched.log" 2>&1
}
echo "RUN  gap fill recovers them"
sched || bad "scheduler --once failed: $(tail -3 "$work/sched.log")"
[ "$(q "select events_found from tenant_log_watermarks where tenant_id = '$tid'")" = "$dropped" ] &&
    ok "$dropped events republished (the delivered ones skipped)" ||
    bad "events_found: $(q "select * from tenant_log_watermarks")"
wait_for 30 title_is "${users[0]}" "Gap Title One" && ok "missed profile change applied" ||
    bad "missed profile change not applied"
is_deact() { [ "$(q "select status from users where okta_id='${users[2]}'")" = deactivated ]; }
wait_for 30 is_deact && ok "missed deactivation applied" || bad "missed deactivation not applied"

echo "RUN  nothing missed: one request"
before=$(logs_calls)
sched --gap-fill-interval 1ms || bad "second pass failed"
[ "$(( $(logs_calls) - before ))" = 1 ] && ok "one System Log request" ||
    bad "requests: $before -> $(logs_calls)"
[ "$(q "select events_found from tenant_log_watermarks where tenant_id = '$tid'")" = "$dropped" ] &&
    ok "nothing republished" || bad "republished again"
echo "RUN  not due within the interval: no request"
before=$(logs_calls)
sched || bad "third pass failed"
[ "$(logs_calls)" = "$before" ] && ok "not due: no request" || bad "not due but read"

echo "RUN  another replica holds the tenant's lock: no request"
psql "$OKTASYNC_DATABASE_URL" -XAtq -c "select pg_advisory_lock(hashtextextended('oktasync.gapfill:' || '$tid', 0)); select pg_sleep(30)" >/dev/null 2>&1 &
lockpid=$!
locked() { [ "$(q "select count(*) from pg_locks where locktype = 'advisory' and granted")" -ge 1 ]; }
wait_for 10 locked || bad "lock not taken"
before=$(logs_calls)
sched --gap-fill-interval 1ms || bad "locked pass failed"
[ "$(logs_calls)" = "$before" ] && ok "locked: skipped" || bad "read despite the lock"
kill "$lockpid" 2>/dev/null; wait "$lockpid" 2>/dev/null; lockpid=
finish
