#!/usr/bin/env bash
# oktasyncctl sync now / status / diff / approve / reject: runs queued as the scheduler queues
# them (row + job), --dry-run, --wait to the end (exit 0 / 4 held / 5 failed or timeout, plain
# lines without a terminal), the review of a held run, --json parsing, exit codes.
source "$(dirname "$0")/ctl_lib.sh"
set -a; source "${OKTASYNC_STATE_DIR:-$OKS_SOURCE_DIR/.state}/stack.env"; set +a
fresh_database
DUMP=${OKS_TEST_BIN_DIR:?}/ctl_topic_dump
export OKTASYNC_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
topic="ctlsync$$x$RANDOM"
curl -fsS -X POST "$OKTASYNC_DEVBROKER_CONTROL/topics?name=$topic&partitions=2" >/dev/null ||
    bad "create topic"
export OKTASYNC_JOBS_TOPIC=$topic
expect_rc 0 "migrate" -- "$CTL" migrate
for t in acme beta; do
    expect_rc 0 "add $t" -- "$CTL" tenant add --subdomain $t --okta-domain $t.okta.com \
        --app-id 0oa1 --client-id 0oc1 --api-token tok
done
ACME=$(sql "SELECT id FROM tenants WHERE subdomain = 'acme'")
sql "UPDATE tenants SET connected_at = now() WHERE subdomain = 'acme'"

# not connected / unknown: exit 1, nothing queued
expect_rc 1 "now beta" -- "$CTL" sync now --tenant beta
expect_err "tenant 'beta' is not connected"
expect_rc 1 "now unknown" -- "$CTL" sync now --tenant nosuch
expect_err "tenant 'nosuch' not found"
expect_eq "$(sql "SELECT count(*) FROM sync_runs")" "0" "nothing queued"

expect_rc 0 "now acme" -- "$CTL" sync now --tenant acme --json
run=$(jq -r '.[0].id' <<<"$OUT")
expect_eq "$(jq -r '.[0].status' <<<"$OUT")" "queued" "json status queued"
expect_eq "$(sql "SELECT trigger || ' ' || status || ' ' || dry_run FROM sync_runs WHERE id = $run")" \
    "operator queued false" "operator run row"
expect_rc 0 "now all (dry run)" -- "$CTL" sync now --dry-run
grep -q "^queued full sync run [0-9]* for acme (dry run)$" <<<"$OUT" && ok || bad "human now: $OUT"
expect_eq "$(sql "SELECT count(*) FROM sync_runs WHERE dry_run")" "1" "dry run row, acme only"
jobs=$("$DUMP" "$topic")
expect_eq "$(jq length <<<"$jobs")" "2" "two jobs"
expect_eq "$(jq -r '[.[].key] | unique | join(",")' <<<"$jobs")" "$ACME" "jobs keyed by acme"
expect_eq "$(jq -r '[.[].value | fromjson | .run_id] | sort | .[0]' <<<"$jobs")" "$run" \
    "job carries the run id"

# --wait: nobody runs it → timeout exit 5; a "worker" moves it along → progress lines, exit 0
expect_rc 5 "wait timeout" -- "$CTL" sync now --tenant acme --wait --timeout 1s
expect_err "still not finished after --timeout"
worker() { # $1 = final status; plays the worker on the newest queued run
    local id
    for _ in $(seq 1 100); do
        id=$(sql "SELECT id FROM sync_runs WHERE status = 'queued' AND tenant_id = '$ACME' ORDER BY id DESC LIMIT 1")
        [ -n "$id" ] && [ "$id" -gt "$LAST" ] && break
        sleep 0.1
    done
    sql "UPDATE sync_runs SET status = 'running', started_at = now(), pages = 1, users_seen = 500 WHERE id = $id"
    sleep 1.2
    sql "UPDATE sync_runs SET status = '$1', pages = 2, users_seen = 900, finished_at = now(),
         held_reason = CASE WHEN '$1' = 'held' THEN 'would deactivate 50 of 900' END,
         error = CASE WHEN '$1' = 'failed' THEN 'listing cut short' END WHERE id = $id"
}
LAST=$(sql "SELECT max(id) FROM sync_runs")
worker succeeded &
expect_rc 0 "wait succeeded" -- "$CTL" sync now --tenant acme --wait --timeout 30s
wait
grep -q "acme run [0-9]* succeeded: pages 2, users 900" <<<"$OUT" && ok || bad "wait output: $OUT"
# on a terminal: a progress bar (script(1) gives the command a pty)
LAST=$(sql "SELECT max(id) FROM sync_runs")
worker succeeded &
tty_out=$(script -qec "$CTL sync now --tenant acme --wait --timeout 30s" /dev/null)
wait
grep -q '\[####################\] acme run [0-9]* succeeded: pages 2, users 900, .* users/s, ETA 0s' \
    <<<"$tty_out" && ok || bad "progress bar: $tty_out"
grep -q '\[###########\.\.\.\.\.\.\.\.\.\] acme run [0-9]* running: pages 1, users 500, .* ETA [0-9]*s' \
    <<<"$tty_out" && ok || bad "progress bar while running (ETA from the last run's 900): $tty_out"
LAST=$(sql "SELECT max(id) FROM sync_runs")
worker held &
expect_rc 4 "wait held" -- "$CTL" sync now --tenant acme --wait --json --timeout 30s
wait
expect_eq "$(jq -r '.[0].status + "|" + .[0].held_reason' <<<"$OUT")" \
    "held|would deactivate 50 of 900" "wait --json final run"
LAST=$(sql "SELECT max(id) FROM sync_runs")
worker failed &
expect_rc 5 "wait failed" -- "$CTL" sync now --tenant acme --wait --timeout 30s
wait

# status: latest run per tenant
expect_rc 0 "status" -- "$CTL" sync status --json
expect_eq "$(jq -r 'map(.subdomain + "/" + (.status // "never") + "/" + (.connected|tostring)) | join(",")' <<<"$OUT")" \
    "acme/failed/true,beta/never/false" "status per tenant"
expect_rc 0 "status human" -- "$CTL" sync status --tenant acme
grep -q "^acme .* failed .*listing cut short" <<<"$OUT" && ok || bad "human status: $OUT"
expect_rc 1 "status unknown" -- "$CTL" sync status --tenant nosuch

# a held run with removals (written directly, as the full sync writes them)
held_run() {
    sql "INSERT INTO sync_runs (tenant_id, scheduled_for, status, held_reason, started_at, users_seen)
         VALUES ('$ACME', now() - interval '$1 minutes', 'held', 'would deactivate 2 of 3 users',
                 now() - interval '10 minutes', 1) RETURNING id" | head -1
}
sql "INSERT INTO users (tenant_id, okta_id, email, status, updated_at) VALUES
     ('$ACME', '00u1', 'a@x.io', 'active', now() - interval '1 hour'),
     ('$ACME', '00u2', 'b@x.io', 'active', now() - interval '1 hour'),
     ('$ACME', '00u3', 'c@x.io', 'active', now() - interval '1 hour')"
H1=$(held_run 30)
H2=$(held_run 20)
for h in $H1 $H2; do
    sql "INSERT INTO sync_run_removals (run_id, tenant_id, okta_id, email) VALUES
         ($h, '$ACME', '00u1', 'a@x.io'), ($h, '$ACME', '00u2', 'b@x.io')"
done
expect_rc 0 "diff" -- "$CTL" sync diff "$H1" --json
expect_eq "$(jq -r '.status + " " + (.removals | map(.okta_id + ":" + (.applied_at // "pending")) | join(","))' <<<"$OUT")" \
    "held 00u1:pending,00u2:pending" "diff lists removals"
expect_rc 0 "diff human" -- "$CTL" sync diff "$H1"
grep -q "2 users to deactivate" <<<"$OUT" && grep -q "^00u2 .*b@x.io .*pending" <<<"$OUT" && ok ||
    bad "human diff: $OUT"
users_before=$(sql "SELECT string_agg(okta_id || status || updated_at, ',' ORDER BY okta_id) FROM users")
expect_rc 0 "reject" -- "$CTL" sync reject "$H1" --json
expect_eq "$(jq -r .status <<<"$OUT")" "rejected" "reject json"
expect_eq "$(sql "SELECT status || ' ' || (rejected_by LIKE 'operator:%') || ' ' || (rejected_at IS NOT NULL) FROM sync_runs WHERE id = $H1")" \
    "rejected true true" "rejected by whom, when"
expect_eq "$(sql "SELECT string_agg(okta_id || status || updated_at, ',' ORDER BY okta_id) FROM users")" \
    "$users_before" "reject changes no user"
expect_eq "$(sql "SELECT count(*) FROM sync_run_removals WHERE applied_at IS NOT NULL")" "0" \
    "reject applies nothing"
expect_rc 1 "approve rejected" -- "$CTL" sync approve "$H1"
expect_err "is rejected, not held"
expect_rc 1 "reject again" -- "$CTL" sync reject "$H1"
expect_err "not held"
expect_rc 0 "approve" -- "$CTL" sync approve "$H2" --json
expect_eq "$(jq -r '.status + " " + (.deactivated|tostring)' <<<"$OUT")" "succeeded 2" "approve json"
expect_eq "$(sql "SELECT string_agg(okta_id || ':' || status, ',' ORDER BY okta_id) FROM users")" \
    "00u1:deactivated,00u2:deactivated,00u3:active" "approve deactivates the removals only"
expect_eq "$(sql "SELECT status FROM sync_runs WHERE id = $H2")" "succeeded" "approved run succeeded"
expect_rc 1 "approve twice" -- "$CTL" sync approve "$H2"
expect_err "is succeeded, not held"

# tenant show: connected, last finished full sync, Okta state, dirty users
sql "INSERT INTO dirty_users (tenant_id, okta_id) VALUES ('$ACME', '00u7'), ('$ACME', '00u8');
     INSERT INTO tenant_okta_state (tenant_id, fault, fault_reason, fault_since)
     VALUES ('$ACME', 'credentials_invalid', 'E0000011 Invalid token', now())"
expect_rc 0 "show" -- "$CTL" tenant show acme --json
expect_eq "$(jq -r '[.connected, .last_full_sync.id, .last_full_sync.status, .okta_fault, .parked, .dirty_users] | map(tostring) | join(" ")' <<<"$OUT")" \
    "true $H2 succeeded credentials_invalid true 2" "show state"
expect_rc 0 "show human" -- "$CTL" tenant show acme
grep -q "^okta state .*credentials_invalid (parked" <<<"$OUT" &&
    grep -q "^dirty users pending *2, oldest since" <<<"$OUT" &&
    grep -q "^last finished full sync *run $H2 succeeded" <<<"$OUT" && ok || bad "human show: $OUT"
expect_rc 0 "show beta" -- "$CTL" tenant show beta --json
expect_eq "$(jq -r '[.connected, .last_full_sync, .okta_fault, .parked, .dirty_users] | map(tostring) | join(" ")' <<<"$OUT")" \
    "false null null false 0" "beta state"

expect_rc 1 "diff unknown run" -- "$CTL" sync diff 999999
expect_err "sync run 999999 not found"
expect_rc 2 "diff bad run" -- "$CTL" sync diff abc
expect_err "invalid RUN"
expect_rc 2 "approve no run" -- "$CTL" sync approve
expect_rc 2 "bad timeout" -- "$CTL" sync now --timeout soon
expect_err "invalid value for --timeout"
expect_rc 0 "sync help" -- "$CTL" sync --help
grep -q "approve RUN" <<<"$OUT" && ok || bad "sync help lists approve"
finish
