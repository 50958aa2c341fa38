#!/usr/bin/env bash
# bench/worker's load driver (oktasync-bench-worker-drive) against the real simulator and ingest:
# every event is a real change whose `published` is the simulator's lastUpdated, one user's
# changes happen in event order (the last event holds the user's end state), every delivery is
# acknowledged by Kafka, pacing holds the rate, and failures are reported, not hidden.
# Uses the shared stack (PostgreSQL, dev broker) with a fresh database and a private topic.
set -uo pipefail
src=${OKS_SOURCE_DIR:?}; bin=${OKS_BIN_DIR:?}
source "$src/scripts/lib/fleet.sh"
set -a; source "${OKTASYNC_STATE_DIR:-$src/.state}/stack.env"; set +a
work=$(mktemp -d); passed=0; failed=0
db="oks_drive_$$_$RANDOM"; run="drive$$x$RANDOM"
admin_db=$OKTASYNC_DATABASE_URL
cleanup() {
    oks_fleet_stop "$work" >/dev/null 2>&1
    psql "$admin_db" -XAtq -c "drop database if exists \"$db\" with (force)" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
ok() { echo "  ok $1"; passed=$((passed+1)); }
bad() { echo "  FAIL $1"; failed=$((failed+1)); }
finish() { echo "$passed passed, $failed failed"; [ $failed -eq 0 ]; exit $?; }
jqe() { jq -e "$@" >/dev/null; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
drive=$bin/oktasync-bench-worker-drive

psql "$admin_db" -XAtq -c "create database \"$db\"" || { bad "create database"; finish; }
export OKTASYNC_DATABASE_URL="${admin_db%/*}/$db"
export OKTASYNC_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
"$bin/oktasyncctl" migrate >/dev/null || { bad "migrate"; finish; }
curl -fsS -X POST "$OKTASYNC_DEVBROKER_CONTROL/topics?name=$run-events&partitions=2" >/dev/null
oks_fleet_start "$work" sim "$bin/oktasync-okta-sim" --listen 127.0.0.1:0 --users 60 --seed 5 \
    --token drive-token >/dev/null || { bad "sim start"; finish; }
sim=$(oks_fleet_addr "$work" sim http)
app=$(curl -fsS "$sim/__sim/info" | jq -r .app_id)
tenant=$("$bin/oktasyncctl" --json tenant add --subdomain "drive$$" --okta-domain "$sim" \
    --app-id "$app" --client-id c1 --api-token drive-token) || { bad "tenant add"; finish; }
echo "drive$$ $(jq -r .webhook_secret <<<"$tenant") $sim $(jq -r .id <<<"$tenant")" >"$work/tenants"
echo "drive$$ wrong-secret $sim $(jq -r .id <<<"$tenant")" >"$work/tenants-bad"
oks_fleet_start "$work" ingest "$bin/oktasync-ingest" --admin-listen 127.0.0.1:0 \
    --kafka-brokers "$OKTASYNC_KAFKA_BROKERS" --http-listen 127.0.0.1:0 \
    --kafka-topic "$run-events" >/dev/null || { bad "ingest start"; finish; }
ingest=$(oks_fleet_addr "$work" ingest http)
metrics=$(oks_fleet_addr "$work" ingest admin)/metrics
produced() { curl -fsS "$metrics" | sed -n 's/^oktasync_ingest_events_produced_total //p'; }
curl -fsS "$sim/__sim/state" | jq -r '[.users[] | select(.assigned and .okta_status == "ACTIVE") | .id][:5][]' >"$work/users"
title() { curl -fsS "$sim/api/v1/users/$1" -H 'Authorization: SSWS drive-token' | jq -r .profile.title; }

echo "RUN  burst: 200 changes over 5 users, then 2 deliveries of 100"
"$drive" --ingest "$ingest" --tenants-file "$work/tenants" --users-file "$work/users" --events 200 \
    --users-per-tenant 5 --concurrency 16 --label t1 --out "$work/ev" >"$work/sum" 2>"$work/err"
check "exit 0 when every event was delivered" [ $? = 0 ]
check "summary: 200 changed and delivered in 2 posts" \
    [ "$(jq -r '"\(.changed) \(.delivered) \(.posts) \(.posts_failed) \(.changes_failed)"' "$work/sum")" = "200 200 2 0 0" ]
check "a delivery's changes went in one request (2 for 2 deliveries)" jqe '.change_requests == 2' "$work/sum"
check "ingest produced 200 events to Kafka" [ "$(produced)" = 200 ]
check "one line per event, every one delivered with its 200 time" \
    [ "$(awk -F'\t' '$8 == "t" && $7 > 0' "$work/ev" | wc -l)" = 200 ]
last_ok=1
while read -r u; do
    want=$(awk -F'\t' -v u="$u" '$2 == u { t = $5 } END { print t }' "$work/ev") # file is in seq order
    [ "$(title "$u")" = "$want" ] || { last_ok=0; echo "    $u: Okta has '$(title "$u")', last event '$want'"; }
done <"$work/users"
check "each user's last event holds the user's end state in Okta" [ $last_ok = 1 ]
check "published never goes back along one user's events (changes made in order)" \
    awk -F'\t' '{ if ($2 in p && $4 < p[$2]) bad = 1; p[$2] = $4 } END { exit bad }' "$work/ev"
u0=$(head -1 "$work/users")
lu=$(curl -fsS "$sim/api/v1/users/$u0" -H 'Authorization: SSWS drive-token' | jq -r .lastUpdated)
check "the last event's published is the simulator's lastUpdated" \
    [ "$(awk -F'\t' -v u="$u0" '$2 == u { p = $4 } END { print p }' "$work/ev")" = "$lu" ]

echo "RUN  paced: 40 events/s for 1 s, one delivery per 100 ms window"
"$drive" --ingest "$ingest" --tenants-file "$work/tenants" --users-file "$work/users" --events 40 \
    --users-per-tenant 5 --rate 40 --window 100 --label t2 --out "$work/ev2" >"$work/sum2" 2>"$work/err2"
check "paced run delivered 40" [ "$(jq -r .delivered "$work/sum2")" = 40 ]
check "paced run took about 1 s (0.85..3 s)" \
    jqe '.elapsed_s > 0.85 and .elapsed_s < 3' "$work/sum2"
check "about one delivery per window (8..12 posts)" jqe '.posts >= 8 and .posts <= 12' "$work/sum2"
check "one change request per delivery" jqe '.change_requests == .posts' "$work/sum2"
first_wall=$(jq -r '.first_post_epoch_ms' "$work/sum2")
check "200 times spread over the second (last − first ≥ 700 ms)" \
    awk -F'\t' -v f="$first_wall" '{ if ($7 > m) m = $7 } END { exit !(m - f >= 700) }' "$work/ev2"
check "a paced run says how far behind its schedule it delivered (0 ≤ p99 ≤ max < 2 s)" \
    jqe '.behind_schedule_p99_ms >= 0 and .behind_schedule_p99_ms <= .behind_schedule_max_ms
         and .behind_schedule_max_ms < 2000' "$work/sum2"

echo "RUN  paced beyond what one request at a time can keep: 100 events due in one window"
"$drive" --ingest "$ingest" --tenants-file "$work/tenants" --users-file "$work/users" --events 100 \
    --users-per-tenant 5 --rate 10000 --window 100 --concurrency 1 --label t2b >"$work/sum2b" 2>&1
check "late run delivered 100" [ "$(jq -r .delivered "$work/sum2b")" = 100 ]
# every event is due at 0 (one window); the last 200 comes at the end of the run, one change at a
# time: the schedule lag is the run's length, not 0
check "its lag behind schedule is the run's length (max ≥ elapsed − 50 ms)" \
    jqe '.behind_schedule_max_ms >= .elapsed_s * 1000 - 50 and .behind_schedule_max_ms > 0' "$work/sum2b"
check "a burst run has no schedule to be behind" jqe 'has("behind_schedule_max_ms") | not' "$work/sum"

echo "RUN  --no-change: deliveries only, Okta untouched"
before=$(title "$u0")
"$drive" --ingest "$ingest" --tenants-file "$work/tenants" --users-file "$work/users" --events 5 \
    --users-per-tenant 5 --no-change >"$work/sum3" 2>&1
check "no-change run delivered 5" [ "$(jq -r .delivered "$work/sum3")" = 5 ]
check "no-change run changed nothing in Okta" [ "$(title "$u0")" = "$before" ]

echo "RUN  failures are reported"
n=$(produced)
"$drive" --ingest "$ingest" --tenants-file "$work/tenants-bad" --users-file "$work/users" --events 3 \
    --users-per-tenant 5 >"$work/sum4" 2>&1
check "exit 1 when ingest refuses (wrong secret)" [ $? = 1 ]
check "the refusal is counted and its status named" \
    jqe '.posts_failed == 1 and .delivered == 0 and (.first_error | test("HTTP 401"))' "$work/sum4"
check "nothing produced for a refused delivery" [ "$(produced)" = "$n" ]
echo "nobody 00uNOSUCHUSER http://127.0.0.1:1 00000000-0000-0000-0000-000000000000" >"$work/tenants-dead"
"$drive" --ingest "$ingest" --tenants-file "$work/tenants-dead" --users-file "$work/users" --events 2 >"$work/sum5" 2>&1
check "exit 1 when the simulator cannot be reached" [ $? = 1 ]
check "failed changes are counted, not delivered" jqe '.changes_failed == 2 and .delivered == 0' "$work/sum5"
# a user the simulator does not have: the whole delivery's changes are refused (404), none posted
{ head -2 "$work/users"; echo 00uNOSUCHUSER000000; } >"$work/users-missing"
n=$(produced)
"$drive" --ingest "$ingest" --tenants-file "$work/tenants" --users-file "$work/users-missing" \
    --events 3 --label t7 >"$work/sum7" 2>&1
check "exit 1 when the simulator refuses a delivery's changes" [ $? = 1 ]
check "its 3 changes are counted as failed, its status named" \
    jqe '.changes_failed == 3 and .delivered == 0 and (.first_error | test("HTTP 404"))' "$work/sum7"
check "nothing produced for changes that were not made" [ "$(produced)" = "$n" ]
"$drive" --tenants-file "$work/tenants" --users-file "$work/users" --events 1 >/dev/null 2>&1
check "exit 2 without --ingest" [ $? = 2 ]
echo "one-field-only" >"$work/tenants-broken"
"$drive" --ingest "$ingest" --tenants-file "$work/tenants-broken" --users-file "$work/users" --events 1 >/dev/null 2>"$work/err6"
check "exit 2 and a one-line reason for a bad tenants file" \
    bash -c "[ $? = 2 ] && grep -q 'tenants file' '$work/err6'"
finish
