#!/usr/bin/env bash
# oktasyncctl dlq list / replay and lag against the stack's broker:
# - dlq list filters (--tenant, --since, --reason, --event), ingest's dead letters shown as not
#   replayable, --json parses;
# - dlq replay --dry-run sends nothing; replay sends the original value back to source_topic
#   with the original key; replayed twice, a real worker applies the event once (the second is
#   dropped as a duplicate by uuid);
# - lag per partition (committed vs high watermark, age) and per tenant (dirty users, oldest
#   change, fault) with OK / WARN / STALLED and exit codes 0 / 6 / 7.
source "$(dirname "$0")/ctl_lib.sh"
source "${OKS_SOURCE_DIR:?}/scripts/lib/fleet.sh"
set -a; source "${OKTASYNC_STATE_DIR:-$OKS_SOURCE_DIR/.state}/stack.env"; set +a
fresh_database
DUMP=${OKS_TEST_BIN_DIR:?}/ctl_topic_dump
export OKTASYNC_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
work=$(mktemp -d)
trap 'oks_fleet_stop "$work" >/dev/null 2>&1; rm -rf "$work"; psql -q -X "$ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null' EXIT
run="ctldlq$$x$RANDOM"
for t in events jobs dead-letter lagev; do
    curl -fsS -X POST "$OKTASYNC_DEVBROKER_CONTROL/topics?name=$run-$t&partitions=2" >/dev/null ||
        bad "create topic $t"
done
export OKTASYNC_DEAD_LETTER_TOPIC=$run-dead-letter OKTASYNC_EVENTS_TOPIC=$run-events
oks_fleet_start "$work" sim "$OKS_BIN_DIR/oktasync-okta-sim" --listen 127.0.0.1:0 --users 5 \
    --seed 4 --token tok >/dev/null || { bad "sim start"; finish; exit 1; }
sim=$(oks_fleet_addr "$work" sim http)
app=$(curl -fsS "$sim/__sim/info" | jq -r .app_id)
user=$(curl -fsS "$sim/api/v1/apps/$app/users?limit=1&expand=user" -H 'Authorization: SSWS tok' | jq -r '.[0].id')

expect_rc 0 "migrate" -- "$CTL" migrate
expect_rc 0 "add acme" -- "$CTL" tenant add --subdomain acme --okta-domain "$sim" --app-id "$app" \
    --client-id c1 --api-token tok
expect_rc 0 "add beta" -- "$CTL" tenant add --subdomain beta --okta-domain beta.okta.com \
    --app-id 0oa1 --client-id c1 --api-token tok
ACME=$(sql "SELECT id FROM tenants WHERE subdomain = 'acme'")
BETA=$(sql "SELECT id FROM tenants WHERE subdomain = 'beta'")

iso() { date -u -d "@$(( $(date +%s) - $1 ))" +%Y-%m-%dT%H:%M:%S.000Z; }
envelope() { # tenant uuid user
    jq -cn --arg t "$1" --arg id "$2" --arg u "$3" --arg p "$(iso 60)" '{v:1, tenant:$t,
      event_uuid:$id, event_type:"user.account.update_profile", published:$p, okta_user_id:$u,
      group_id:null, app_id:null, received_at:$p, event:{uuid:$id, published:$p,
      eventType:"user.account.update_profile", target:[{id:$u, type:"User"}]}}'
}
dead_letter() { # key value class reason source_topic failed_at
    jq -cn --arg v "$2" --arg c "$3" --arg r "$4" --arg s "$5" --arg f "$6" '{v:1, reason:$r,
      error_class:$c, source_topic:$s, source_partition:(if $s == "" then -1 else 0 end),
      source_offset:(if $s == "" then -1 else 7 end), failed_at:$f, value:$v}' |
        "$DUMP" --produce "$run-dead-letter" "$1" || bad "produce dead letter"
}
E1=$(cat /proc/sys/kernel/random/uuid); E2=$(cat /proc/sys/kernel/random/uuid)
E3=$(cat /proc/sys/kernel/random/uuid)
dead_letter "$ACME" "$(envelope "$ACME" "$E1" "$user")" not_found "unknown tenant (replay once it exists)" \
    "$run-events" "$(iso 120)"
dead_letter "$BETA" "$(envelope "$BETA" "$E2" 00ubeta)" unavailable "okta unreachable after 8 attempts" \
    "$run-events" "$(iso 7200)"
# ingest's dead letter: a raw LogEvent, no source topic
dead_letter "$ACME" "$(jq -cn --arg id "$E3" '{uuid:$id, eventType:"user.lifecycle.create"}')" \
    invalid "no User target" "" "$(iso 30)"

expect_rc 0 "dlq list" -- "$CTL" dlq list --json
expect_eq "$(jq length <<<"$OUT")" "3" "three dead letters"
expect_eq "$(jq -r --arg e "$E3" 'map(select(.event_uuid == $e))[0] | (.replayable|tostring) + " " + .not_replayable_because' <<<"$OUT")" \
    "false no source topic: an ingest dead letter holds a raw Okta event, not an envelope" \
    "ingest dead letter not replayable"
expect_rc 0 "list --tenant beta" -- "$CTL" dlq list --tenant beta --json
expect_eq "$(jq -r 'map(.event_uuid) | join(",")' <<<"$OUT")" "$E2" "tenant filter"
expect_rc 0 "list --since 1h" -- "$CTL" dlq list --since 1h --json
expect_eq "$(jq -r 'map(.event_uuid) | sort | join(",")' <<<"$OUT")" \
    "$(printf '%s\n' "$E1" "$E3" | sort | paste -sd,)" "since filter"
expect_rc 0 "list --reason unavailable" -- "$CTL" dlq list --reason unavailable --json
expect_eq "$(jq -r 'map(.event_uuid) | join(",")' <<<"$OUT")" "$E2" "reason = class"
expect_rc 0 "list --reason text" -- "$CTL" dlq list --reason "User target" --json
expect_eq "$(jq -r 'map(.event_uuid) | join(",")' <<<"$OUT")" "$E3" "reason = text"
expect_rc 0 "list human" -- "$CTL" dlq list --tenant acme
grep -q "^2 of 3 dead letters" <<<"$OUT" && grep -q "not replayable: no source topic" <<<"$OUT" &&
    ok || bad "human list: $OUT"
expect_rc 2 "bad since" -- "$CTL" dlq list --since yesterday
expect_err "invalid value for --since"
expect_rc 1 "unknown tenant" -- "$CTL" dlq list --tenant nosuch
expect_err "tenant 'nosuch' not found"
expect_rc 2 "replay without selector" -- "$CTL" dlq replay
expect_err "dlq replay needs"

# dry run: nothing produced
expect_rc 0 "replay dry run" -- "$CTL" dlq replay --tenant acme --dry-run --json
expect_eq "$(jq -r 'map(.replay) | sort | join(",")' <<<"$OUT")" "not replayable,would replay" \
    "dry run says what would go"
expect_eq "$("$DUMP" "$run-events" | jq length)" "0" "dry run produced nothing"

# the worker: replay twice, applied once
oks_fleet_start "$work" worker "$OKS_BIN_DIR/oktasync-worker" --admin-listen 127.0.0.1:0 \
    --kafka-brokers "$OKTASYNC_KAFKA_BROKERS" --group-id "$run-g" --events-topic "$run-events" \
    --jobs-topic "$run-jobs" --dead-letter-topic "$run-dead-letter" \
    --kafka-config "session.timeout.ms=6000;heartbeat.interval.ms=500" >/dev/null ||
    bad "worker start"
metrics=$(oks_fleet_addr "$work" worker admin)/metrics
dups() { curl -fsS "$metrics" | awk '/^oktasync_worker_duplicates_dropped_total/ {s += $2} END {print s + 0}'; }
wait_until() { for _ in $(seq 1 300); do eval "$1" && return 0; sleep 0.1; done; return 1; }
expect_rc 0 "replay" -- "$CTL" dlq replay --event "$E1"
grep -q "^1 replayed, 0 not replayable" <<<"$OUT" && ok || bad "replay output: $OUT"
msgs=$("$DUMP" "$run-events")
expect_eq "$(jq -r '.[0].key + " " + .[0].headers.tenant' <<<"$msgs")" "$ACME $ACME" \
    "original key and tenant header"
expect_eq "$(jq -r '.[0].value | fromjson | .event_uuid' <<<"$msgs")" "$E1" "original value"
wait_until '[ "$(sql "SELECT count(*) FROM users WHERE okta_id = '"'$user'"'")" = 1 ]' &&
    ok || bad "replayed event applied (user row)"
expect_eq "$(sql "SELECT count(*) FROM processed_events WHERE event_uuid = '$E1'")" "1" "processed once"
before=$(dups)
expect_rc 0 "replay again" -- "$CTL" dlq replay --event "$E1" --json
expect_eq "$(jq -r '.[0].replay' <<<"$OUT")" "replayed" "second replay sent"
wait_until '[ "$(dups)" -gt "$before" ]' && ok || bad "second replay dropped as duplicate"
expect_eq "$(sql "SELECT count(*) FROM processed_events WHERE event_uuid = '$E1'")" "1" \
    "still processed once"
oks_fleet_stop "$work" >/dev/null 2>&1

# lag: a fresh topic, the group committed partition 0 up to 1 of 3; partition 1 has one
# 20-minute-old message and no commit
export OKTASYNC_EVENTS_TOPIC=$run-lagev OKTASYNC_GROUP_ID=$run-lag
for i in 1 2 3; do echo "m$i" | "$DUMP" --produce "$run-lagev" k 0 0 || bad "produce"; done
"$DUMP" --commit "$run-lagev" "$run-lag" 0 1 || bad "commit"
expect_rc 0 "lag all OK" -- "$CTL" lag --tenant beta --json
expect_eq "$(jq -r '.partitions | map("\(.partition):\(.committed):\(.high_watermark):\(.lag_messages):\(.status)") | join(",")' <<<"$OUT")" \
    "0:1:3:2:OK,1:null:0:0:OK" "partition lag"
expect_rc 6 "lag warn messages" -- "$CTL" lag --tenant beta --warn-messages 2
grep -q "^0 .* 2 .* WARN" <<<"$OUT" && ok || bad "human lag: $OUT"
echo old | "$DUMP" --produce "$run-lagev" k 1200000 1 || bad "produce old"
expect_rc 7 "lag stalled partition" -- "$CTL" lag --tenant beta --json
expect_eq "$(jq -r '.partitions[1] | "\(.lag_messages) \(.age_seconds >= 1199) \(.status)"' <<<"$OUT")" \
    "1 true STALLED" "old message stalls partition 1"
expect_rc 0 "stall-age raised" -- "$CTL" lag --tenant beta --warn-age 30m --stall-age 1h
# tenants: a dirty user two minutes old → WARN; a parked tenant → STALLED
"$DUMP" --commit "$run-lagev" "$run-lag" 1 1 || bad "commit 1"
"$DUMP" --commit "$run-lagev" "$run-lag" 0 3 || bad "commit 0"
sql "INSERT INTO dirty_users (tenant_id, okta_id, first_marked_at) VALUES ('$BETA', '00u9', now() - interval '2 minutes')"
expect_rc 6 "dirty user warn" -- "$CTL" lag --json
expect_eq "$(jq -r '.tenants | map("\(.subdomain):\(.dirty_users):\(.oldest_change_age_seconds >= 119):\(.status)") | join(",")' <<<"$OUT")" \
    "acme:0:false:OK,beta:1:true:WARN" "tenant lag"
sql "INSERT INTO tenant_okta_state (tenant_id, fault, fault_reason, fault_since) VALUES ('$ACME', 'credentials_invalid', 'E0000011', now())"
expect_rc 7 "parked tenant stalled" -- "$CTL" lag --tenant acme --json
expect_eq "$(jq -r '.tenants[0] | .status + " " + .fault' <<<"$OUT")" "STALLED credentials_invalid" \
    "parked tenant"
expect_rc 2 "bad warn-age" -- "$CTL" lag --warn-age never
expect_err "invalid value for --warn-age"
expect_rc 2 "stall below warn" -- "$CTL" lag --warn-age 10m --stall-age 1m
finish
