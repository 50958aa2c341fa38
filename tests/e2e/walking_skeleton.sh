#!/usr/bin/env bash
# The walking skeleton, end to end through the real binaries: an Okta event hook POSTed to
# ingest becomes a Kafka message, a worker fetches the user from the (simulated) Okta API and
# writes the row; a change made in "Okta" arrives as a hook on its own and updates the row;
# a wrong secret is refused and produces nothing. Uses the shared stack (PostgreSQL, Redis, dev
# broker) with a fresh database, private topics and a private consumer group.
set -uo pipefail
src=${OKS_SOURCE_DIR:?}; bin=${OKS_BIN_DIR:?}
source "$src/scripts/lib/fleet.sh"
set -a; source "${OKTASYNC_STATE_DIR:-$src/.state}/stack.env"; set +a
mult=${OKS_TEST_TIMEOUT_MULTIPLIER:-1}
work=$(mktemp -d); passed=0; failed=0
db="oks_e2e_$$_$RANDOM"; run="e2e$$x$RANDOM"
admin_db=$OKTASYNC_DATABASE_URL
db_url="${admin_db%/*}/$db"
cleanup() {
    oks_fleet_stop "$work" >/dev/null 2>&1
    psql "$admin_db" -XAtq -c "drop database if exists \"$db\" with (force)" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
ok() { echo "  ok $1"; passed=$((passed+1)); }
bad() { echo "  FAIL $1"; failed=$((failed+1)); }
finish() { echo "$passed passed, $failed failed"; [ $failed -eq 0 ]; exit $?; }
# wait_for SECONDS CMD...: poll until CMD succeeds (never a fixed sleep)
wait_for() { local t=$(( $1 * 10 * mult )); shift; for _ in $(seq 1 $t); do "$@" && return 0; sleep 0.1; done; return 1; }

psql "$admin_db" -XAtq -c "create database \"$db\"" || { bad "create database"; finish; }
export OKTASYNC_DATABASE_URL=$db_url
export OKTASYNC_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
"$bin/oktasyncctl" migrate >/dev/null || { bad "migrate"; finish; }
for t in events jobs dead-letter; do
    curl -fsS -X POST "$OKTASYNC_DEVBROKER_CONTROL/topics?name=$run-$t&partitions=3" >/dev/null
done

oks_fleet_start "$work" sim "$bin/oktasync-okta-sim" --listen 127.0.0.1:0 --users 40 --seed 11 \
    --token e2e-token >/dev/null || { bad "sim start"; finish; }
sim=$(oks_fleet_addr "$work" sim http)
app=$(curl -fsS "$sim/__sim/info" | jq -r .app_id)
tenant=$("$bin/oktasyncctl" --json tenant add --subdomain "e2e$$" --okta-domain "$sim" \
    --app-id "$app" --client-id c1 --api-token e2e-token) || { bad "tenant add"; finish; }
secret=$(jq -r .webhook_secret <<<"$tenant")

common=(--admin-listen 127.0.0.1:0 --kafka-brokers "$OKTASYNC_KAFKA_BROKERS")
oks_fleet_start "$work" ingest "$bin/oktasync-ingest" "${common[@]}" --http-listen 127.0.0.1:0 \
    --kafka-topic "$run-events" >/dev/null || { bad "ingest start"; finish; }
oks_fleet_start "$work" worker "$bin/oktasync-worker" "${common[@]}" --group-id "$run-g" \
    --events-topic "$run-events" --jobs-topic "$run-jobs" --dead-letter-topic "$run-dead-letter" \
    --kafka-config "session.timeout.ms=6000;heartbeat.interval.ms=500" >/dev/null ||
    { bad "worker start"; finish; }
hook="$(oks_fleet_addr "$work" ingest http)/webhooks/okta/e2e$$"

user=$(curl -fsS "$sim/api/v1/apps/$app/users?limit=1&expand=user" -H 'Authorization: SSWS e2e-token' | jq -r '.[0].id')
okta_title=$(curl -fsS "$sim/api/v1/users/$user" -H 'Authorization: SSWS e2e-token' | jq -r .profile.title)
body() {
    jq -n --arg u "$1" --arg id "$2" '{eventType:"com.okta.event_hook", eventId:$id,
      data:{events:[{uuid:$id, published:"2026-01-01T00:00:00.000Z",
        eventType:"user.account.update_profile", target:[{id:$u, type:"User"}]}]}}'
}
post() { curl -sS -o /dev/null -w '%{http_code}' -X POST "$hook" -H "Authorization: $1" \
    -H 'Content-Type: application/json' --data-binary "$2"; }
q() { psql "$db_url" -XAtq -c "$1"; }

echo "RUN  wrong secret refused, nothing stored"
code=$(post "not-the-secret" "$(body "$user" "$(cat /proc/sys/kernel/random/uuid)")")
[ "$code" = 401 ] && ok "401 for a wrong secret" || bad "wrong secret got $code"

echo "RUN  hook -> kafka -> worker -> row"
code=$(post "$secret" "$(body "$user" "$(cat /proc/sys/kernel/random/uuid)")")
[ "$code" = 200 ] && ok "200 after Kafka acknowledged" || bad "hook got $code"
has_row() { [ "$(q "select count(*) from users where okta_id='$user'")" = 1 ]; }
if wait_for 30 has_row; then ok "user row written"; else bad "no user row"; fi
[ "$(q "select title from users where okta_id='$user'")" = "$okta_title" ] &&
    ok "row holds Okta's title ($okta_title)" || bad "title mismatch"
[ "$(q "select count(*) from processed_events")" -ge 1 ] && ok "event recorded as processed" ||
    bad "processed_events empty"
# Only the one accepted event reached the worker: the refused request produced nothing.
# (processed_events, not audit rows: since issue 10 one accepted event also audits its team.)
[ "$(q "select count(*) from processed_events")" = 1 ] &&
    ok "the refused request produced no message" || bad "refused request reached the worker"

echo "RUN  a change in Okta arrives as a hook by itself"
curl -fsS -X POST "$sim/__sim/hooks" -H 'Content-Type: application/json' \
    -d "$(jq -n --arg u "$hook" --arg s "$secret" '{url:$u, secret:$s, window_ms:100}')" >/dev/null
curl -fsS -X POST "$sim/__sim/users/$user/profile" -H 'Content-Type: application/json' \
    -d '{"title":"Chief Walking Skeleton"}' >/dev/null
has_title() { [ "$(q "select title from users where okta_id='$user'")" = "Chief Walking Skeleton" ]; }
if wait_for 30 has_title; then ok "profile change synced"; else bad "profile change not synced"; fi
curl -fsS -X POST "$sim/__sim/users/$user/deactivate" >/dev/null
is_deact() { [ "$(q "select status from users where okta_id='$user'")" = deactivated ]; }
if wait_for 30 is_deact; then ok "deactivation synced"; else bad "deactivation not synced"; fi

echo "RUN  graceful shutdown"
for p in ingest worker; do
    pid=$(cat "$work/$p.pid"); kill -TERM "$pid"
    gone() { ! kill -0 "$pid" 2>/dev/null; }
    if wait_for 20 gone; then
        wait "$pid" 2>/dev/null; rc=$?
        [ $rc = 0 ] && ok "$p exits 0 on SIGTERM" || bad "$p exit status $rc"
    else bad "$p did not stop"; fi
done
finish
