#!/usr/bin/env bash
# A live Prometheus (Debian's, on loopback, 1 s scrape and evaluation) scraping the fleet on the
# local stack (ingest, worker, scheduler; Okta is the simulator), with a copy of
# deploy/prometheus/alerts.yaml whose windows and `for:` are shortened (each rewrite must match,
# so the copy cannot drift from the file it tests):
#   1. all targets up, no alert;
#   2. Okta fails every call while hooks keep arriving: the intake still turns every event into
#      a dirty mark at once, so Kafka lag stays 0 and OktasyncWorkerLagGrowing stays quiet (the
#      isolation issue 9 built), while the tenant's oldest unapplied change ages ->
#      OktasyncTenantChangesStale fires for that tenant;
#   3. Okta recovers -> the marks are applied -> it resolves;
#   4. a second tenant whose token Okta refuses (401) gets a hook -> credentials_invalid ->
#      OktasyncTenantParked fires (and the staleness alert leaves it alone); the token is fixed
#      with `oktasyncctl tenant set --api-token` -> un-parked at once, applied, resolves;
#   5. the worker is stopped during a burst: its lag series vanishes with it (the lag alert is
#      blind then, by construction) -> OktasyncProcessDown and OktasyncNoWorkerRunning fire;
#   6. the worker starts again -> they resolve, it drains the burst (lag back to 0, rows written).
set -uo pipefail
source "$(dirname "$0")/deploy_lib.sh"
need_tool prometheus
bin=${OKS_BIN_DIR:?}
source "$src/scripts/lib/fleet.sh"
set -a; source "${OKTASYNC_STATE_DIR:-$src/.state}/stack.env"; set +a
mult=${OKS_TEST_TIMEOUT_MULTIPLIER:-1}
work=$(mktemp -d); db="oks_prom_$$_$RANDOM"; run="prom$$x$RANDOM"
admin_db=$OKTASYNC_DATABASE_URL; db_url="${admin_db%/*}/$db"
prom_pid=
cleanup() {
    if [ "$failed" -gt 0 ]; then   # what the daemons said, for the one reading a failure
        for f in "$work"/worker.log "$work"/ingest.log "$work"/prometheus.log; do
            [ -s "$f" ] && { echo "--- last lines of $(basename "$f")"; grep -v '"level":"info"' "$f" | tail -8 | cut -c1-300; }
        done
    fi
    [ -n "$prom_pid" ] && kill "$prom_pid" 2>/dev/null && wait "$prom_pid" 2>/dev/null
    oks_fleet_stop "$work" >/dev/null 2>&1
    psql "$admin_db" -XAtq -c "drop database if exists \"$db\" with (force)" >/dev/null 2>&1
    [ -n "${OKS_KEEP_WORK:-}" ] && echo "kept $work" || rm -rf "$work"
}
trap cleanup EXIT
# wait_for SECONDS CMD...: poll every 0.2 s (never a fixed sleep)
wait_for() { local t=$(( $1 * 5 * mult )); shift; for _ in $(seq 1 $t); do "$@" && return 0; sleep 0.2; done; return 1; }
t0=$SECONDS; el() { echo "$((SECONDS - t0))s"; }

# --- the test copy of the rules ------------------------------------------------------------
cp "$src/deploy/prometheus/alerts.yaml" "$work/alerts.yaml"
rewrite() {  # rewrite SED-EXPR: must change the file
    local before; before=$(md5sum <"$work/alerts.yaml")
    sed -Ei "$1" "$work/alerts.yaml"
    [ "$(md5sum <"$work/alerts.yaml")" != "$before" ] || { bad "rule rewrite '$1' matched nothing"; finish; }
}
rewrite 's/for: [0-9]+m$/for: 2s/'
rewrite 's/sum\(oktasync_worker_consumer_lag\) > 10000/sum(oktasync_worker_consumer_lag) > 20/'
rewrite 's/\[10m:1m\]/[6s:1s]/'
rewrite 's/\[5m\]/[5s]/g'
rewrite 's/oktasync_worker_oldest_change_age_seconds\) > 600$/oktasync_worker_oldest_change_age_seconds) > 4/'
promtool check rules "$work/alerts.yaml" >/dev/null || { bad "test copy of the rules invalid"; finish; }

# --- the fleet -----------------------------------------------------------------------------
psql "$admin_db" -XAtq -c "create database \"$db\"" || { bad "create database"; finish; }
export OKTASYNC_DATABASE_URL=$db_url
export OKTASYNC_SECRET_KEY=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
"$bin/oktasyncctl" migrate >/dev/null || { bad "migrate"; finish; }
for t in events jobs dead-letter; do
    curl -fsS -X POST "$OKTASYNC_DEVBROKER_CONTROL/topics?name=$run-$t&partitions=3" >/dev/null ||
        { bad "create topic $run-$t"; finish; }
done
oks_fleet_start "$work" sim "$bin/oktasync-okta-sim" --listen 127.0.0.1:0 --users 30 --seed 5 --rate-apps 100000 --rate-user-get 100000 \
    --token prom-token >/dev/null || { bad "sim start"; finish; }
sim=$(oks_fleet_addr "$work" sim http)
app=$(curl -fsS "$sim/__sim/info" | jq -r .app_id)
secret=$("$bin/oktasyncctl" --json tenant add --subdomain "prom$$" --okta-domain "$sim" \
    --app-id "$app" --client-id c1 --api-token prom-token | jq -r .webhook_secret) || { bad "tenant add"; finish; }
common=(--admin-listen 127.0.0.1:0 --kafka-brokers "$OKTASYNC_KAFKA_BROKERS")
oks_fleet_start "$work" ingest "$bin/oktasync-ingest" "${common[@]}" --http-listen 127.0.0.1:0 \
    --kafka-topic "$run-events" >/dev/null || { bad "ingest start"; finish; }
# The worker keeps one admin port across restarts, as a real target would.
wport=$(free_port) || { bad "no free port"; finish; }
start_worker() {
    oks_fleet_start "$work" worker "$bin/oktasync-worker" --admin-listen "127.0.0.1:$wport" \
        --kafka-brokers "$OKTASYNC_KAFKA_BROKERS" --group-id "$run-g" \
        --events-topic "$run-events" --dead-letter-topic "$run-dead-letter" --lag-interval 250ms \
        --retry-backoff-min 100ms --retry-backoff-max 300ms \
        --tenant-backoff-min 200ms --tenant-backoff-max 1s --okta-max-retries 0 --okta-timeout 2s \
        --kafka-config "session.timeout.ms=6000;heartbeat.interval.ms=500" >/dev/null
}
start_worker || { bad "worker start"; finish; }
oks_fleet_start "$work" scheduler "$bin/oktasync-scheduler" "${common[@]}" --jobs-topic "$run-jobs" \
    >/dev/null || { bad "scheduler start"; finish; }
hook="$(oks_fleet_addr "$work" ingest http)/webhooks/okta/prom$$"

# file_sd targets: rewritten when a daemon restarts on a new port (Prometheus watches the file).
write_targets() {
    local d out="["
    for d in ingest worker scheduler; do
        [ -s "$work/$d.ready" ] || continue
        out+="{\"targets\":[\"$(sed -n 's/^admin=//p' "$work/$d.ready")\"],\"labels\":{\"job\":\"oktasync-$d\"}},"
    done
    echo "${out%,}]" >"$work/targets.json.tmp" && mv "$work/targets.json.tmp" "$work/targets.json"
}
write_targets
cat >"$work/prometheus.yml" <<YML
global: { scrape_interval: 1s, evaluation_interval: 1s, scrape_timeout: 900ms }
rule_files: [alerts.yaml]
scrape_configs:
  - job_name: oktasync
    file_sd_configs: [{ files: [targets.json], refresh_interval: 1s }]
YML
port=$(free_port)
prom=http://127.0.0.1:$port
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
    --web.listen-address="127.0.0.1:$port" --log.level=warn >"$work/prometheus.log" 2>&1 &
prom_pid=$!
prom_ready() { curl -fsS "$prom/-/ready" >/dev/null 2>&1; }
wait_for 20 prom_ready && ok "prometheus ready on $prom ($(el))" || { bad "prometheus did not start: $(tail -2 "$work/prometheus.log")"; finish; }

q() { curl -fsS -G "$prom/api/v1/query" --data-urlencode "query=$1" | jq -r '.data.result[0].value[1] // empty'; }
# alerts [NAME [TENANT]]: the active alerts (any state) matching.
alerts() { curl -fsS "$prom/api/v1/alerts" | jq -c --arg a "$1" --arg t "${2:-}" '[.data.alerts[] | select(.labels.alertname == $a and ($t == "" or .labels.tenant == $t))]'; }
firing() { alerts "$@" | jq -e '[.[] | select(.state == "firing")] | length > 0' >/dev/null; }
quiet() { alerts "$@" | jq -e 'length == 0' >/dev/null; }
all_up() { [ "$(q 'count(up == 1)')" = 3 ]; }
lag_is() { [ "$(q 'sum(oktasync_worker_consumer_lag)')" = "$1" ]; }
tq() { q "max(${1}{tenant=\"$2\"})"; }   # tq METRIC TENANT: the fleet-wide gauge (max)
tenant1=$(psql "$db_url" -XAtq -c "select id from tenants where subdomain = 'prom$$'")

user=$(curl -fsS "$sim/api/v1/apps/$app/users?limit=1&expand=user" -H 'Authorization: SSWS prom-token' | jq -r '.[0].id')
# burst N: one hook request with N events about the user (fresh event ids each time).
nburst=0
burst() {
    nburst=$((nburst + 1))
    local body
    body=$(jq -n --arg u "$user" --arg p "$run-$nburst" --argjson n "$1" '{eventType:"com.okta.event_hook",
      eventId:$p, data:{events:[range($n) | {uuid:"\($p)-\(.)", published:"2026-01-01T00:00:00.000Z",
        eventType:"user.account.update_profile", target:[{id:$u, type:"User"}]}]}}')
    curl -fsS -o /dev/null -X POST "$hook" -H "Authorization: $secret" \
        -H 'Content-Type: application/json' --data-binary "$body"
}

echo "RUN  1. baseline"
wait_for 15 all_up && ok "ingest, worker, scheduler scraped and up ($(el))" || bad "targets not up: $(curl -fsS "$prom/api/v1/targets" | jq -c '[.data.activeTargets[] | {job: .labels.job, health, lastError}]')"
wait_for 15 lag_is 0 && ok "worker reports lag 0" || bad "no lag 0 from the worker: $(q 'sum(oktasync_worker_consumer_lag)')"
quiet OktasyncWorkerLagGrowing && quiet OktasyncTenantChangesStale && ok "no lag or staleness alert" || bad "alert before any load"

echo "RUN  2. Okta fails every call while hooks arrive"
curl -fsS -X POST "$sim/__sim/faults" -d '{"error_permille":1000}' >/dev/null
# A worker that stops by itself is restarted, as Restart=always / a Deployment would; the test
# says so.
restarts=0
worker_alive() {
    kill -0 "$(cat "$work/worker.pid")" 2>/dev/null && return 0
    restarts=$((restarts + 1))
    echo "  NOTE the worker exited ($(grep '"level":"error"' "$work/worker.log" | tail -1 | jq -r .msg 2>/dev/null | cut -c1-120)); restarting it"
    [ $restarts -le 3 ] && start_worker || { bad "the worker keeps exiting"; finish; }
}
maxlag=0
keep_posting() {
    worker_alive; burst 4
    local l; l=$(q 'sum(oktasync_worker_consumer_lag)'); [ "${l:-0}" -gt "$maxlag" ] && maxlag=$l
    firing OktasyncTenantChangesStale "$tenant1"
}
if wait_for 25 keep_posting; then ok "OktasyncTenantChangesStale fires for the tenant (oldest change $(tq oktasync_worker_oldest_change_age_seconds "$tenant1") s, $(tq oktasync_worker_dirty_users "$tenant1") dirty user(s), $(el))"
else bad "staleness alert did not fire (oldest change $(tq oktasync_worker_oldest_change_age_seconds "$tenant1") s)"; fi
[ "$(q "max(oktasync_worker_tenant_fault{tenant=\"$tenant1\",fault=\"okta_unavailable\"})")" = 1 ] &&
    ok "the tenant's fault gauge says okta_unavailable" || bad "no okta_unavailable fault for the tenant"
# The isolation: Okta's failures never reach Kafka. Lag is at most a burst in flight, comes
# back to 0 while Okta still fails, and the lag alert never even goes pending.
wait_for 10 lag_is 0 && ok "Kafka lag back to 0 while Okta still fails (highest seen $maxlag)" ||
    bad "Kafka lag stays $(q 'sum(oktasync_worker_consumer_lag)') while Okta fails"
[ "$maxlag" -le 20 ] && ok "Kafka lag never above the test threshold (20)" || bad "Kafka lag reached $maxlag"
[ -z "$(q 'count(count_over_time(ALERTS{alertname="OktasyncWorkerLagGrowing"}[2m]))')" ] &&
    ok "OktasyncWorkerLagGrowing never even pending" || bad "lag alert was active: $(alerts OktasyncWorkerLagGrowing)"
firing OktasyncTenantChangesStale "$tenant1" && ok "still stale while Okta fails" || bad "staleness alert resolved while Okta still fails"

echo "RUN  3. Okta recovers"
curl -fsS -X POST "$sim/__sim/faults" -d '{"clear":true}' >/dev/null
applied() { worker_alive; [ "$(tq oktasync_worker_dirty_users "$tenant1")" = 0 ]; }
wait_for 20 applied && ok "the dirty marks are applied ($(el))" || bad "dirty users stay $(tq oktasync_worker_dirty_users "$tenant1")"
wait_for 10 quiet OktasyncTenantChangesStale && ok "OktasyncTenantChangesStale resolves ($(el))" || bad "staleness alert still active"
[ "$(q "max(oktasync_worker_tenant_fault{tenant=\"$tenant1\"})")" = 0 ] && ok "fault cleared" || bad "fault gauge still set"

echo "RUN  4. a tenant whose token Okta refuses (401)"
out2=$("$bin/oktasyncctl" --json tenant add --subdomain "prom$$b" --okta-domain "$sim" \
    --app-id "$app" --client-id c2 --api-token wrong-token) || { bad "tenant add (2)"; finish; }
tenant2=$(jq -r .id <<<"$out2"); secret2=$(jq -r .webhook_secret <<<"$out2")
hook2="$(oks_fleet_addr "$work" ingest http)/webhooks/okta/prom$$b"
post2() {
    local body
    body=$(jq -n --arg u "$user" --arg p "$run-b$RANDOM" '{eventType:"com.okta.event_hook", eventId:$p,
      data:{events:[{uuid:$p, published:"2026-01-01T00:00:00.000Z",
        eventType:"user.account.update_profile", target:[{id:$u, type:"User"}]}]}}')
    curl -fsS -o /dev/null -X POST "$hook2" -H "Authorization: $secret2" -H 'Content-Type: application/json' --data-binary "$body"
}
tenant2_known() { post2; }   # ingest loads new tenants within 5 s
wait_for 10 tenant2_known && ok "hook accepted for the second tenant" || bad "hook for the second tenant refused"
parked_cred() { alerts OktasyncTenantParked "$tenant2" | jq -e '.[] | select(.state == "firing" and .labels.fault == "credentials_invalid")' >/dev/null; }
wait_for 20 parked_cred && ok "OktasyncTenantParked fires with fault credentials_invalid ($(el))" ||
    bad "parked alert did not fire (fault gauge $(q "max by (fault) (oktasync_worker_tenant_fault{tenant=\"$tenant2\"}) == 1"))"
stale2() { [ "$(tq oktasync_worker_oldest_change_age_seconds "$tenant2" | cut -d. -f1)" -gt 6 ]; }
wait_for 10 stale2 && quiet OktasyncTenantChangesStale "$tenant2" &&
    ok "its change waits > 6 s, but the staleness alert leaves a parked tenant to the parked alert" ||
    bad "staleness for the parked tenant: age $(tq oktasync_worker_oldest_change_age_seconds "$tenant2"), $(alerts OktasyncTenantChangesStale "$tenant2")"
"$bin/oktasyncctl" tenant set "prom$$b" --api-token prom-token >/dev/null || bad "tenant set --api-token"
unparked() { [ "$(tq oktasync_worker_dirty_users "$tenant2")" = 0 ] && quiet OktasyncTenantParked "$tenant2"; }
wait_for 15 unparked && ok "new token: un-parked, applied, OktasyncTenantParked resolves ($(el))" ||
    bad "still parked: $(alerts OktasyncTenantParked "$tenant2"), dirty $(tq oktasync_worker_dirty_users "$tenant2")"

echo "RUN  5. the worker stops during a burst"
worker_alive
wpid=$(cat "$work/worker.pid")
kill -TERM "$wpid"
gone() { ! kill -0 "$wpid" 2>/dev/null; }
wait_for 20 gone && ok "worker stopped (SIGTERM)" || bad "worker did not stop"
rm -f "$work/worker.pid"
processed_before=$(psql "$db_url" -XAtq -c "select count(*) from processed_events")
for _ in 1 2 3; do burst 10 || bad "hook refused while the worker is down"; done
down() { firing OktasyncProcessDown && firing OktasyncNoWorkerRunning; }
wait_for 20 down && ok "OktasyncProcessDown and OktasyncNoWorkerRunning fire ($(el))" || bad "no alert for the stopped worker"
[ -z "$(q 'sum(oktasync_worker_consumer_lag)')" ] && ok "no lag series while no worker runs (the lag alert is blind: hence NoWorkerRunning)" ||
    bad "lag still reported with the worker stopped: $(q 'sum(oktasync_worker_consumer_lag)')"

echo "RUN  6. the worker starts again"
start_worker && write_targets || bad "worker restart"
wait_for 20 all_up && ok "worker scraped again ($(el))" || bad "worker target not up again"
resolved() { quiet OktasyncProcessDown && quiet OktasyncNoWorkerRunning; }
wait_for 20 resolved && ok "both alerts resolve ($(el))" || bad "alerts still active after the restart"
drained() { worker_alive; lag_is 0 && [ "$(psql "$db_url" -XAtq -c "select count(*) from processed_events")" -ge $((processed_before + 30)) ]; }
wait_for 30 drained && ok "the burst sent while it was down is processed, lag 0 ($(el))" ||
    bad "burst not drained: lag $(q 'sum(oktasync_worker_consumer_lag)'), processed $(psql "$db_url" -XAtq -c "select count(*) from processed_events") (before $processed_before)"
[ $restarts -eq 0 ] || echo "  NOTE the worker exited by itself $restarts time(s) and was restarted"
finish
