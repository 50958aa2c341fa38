#!/usr/bin/env bash
# Prometheus reads the rules: `promtool check rules` on every rule file, `promtool check config`
# on the example scrape configuration, and `promtool test rules` with input series for each
# alert (tests/deploy/prometheus/alerts.test.yaml). Every alert must have a test in which it
# fires; and the unit tests must catch a broken rule file (all `for:` removed, a threshold
# changed), so they are known to be able to fail.
set -uo pipefail
source "$(dirname "$0")/deploy_lib.sh"
need_tool promtool
rules=$src/deploy/prometheus/alerts.yaml
tests=$src/tests/deploy/prometheus/alerts.test.yaml
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

check "promtool check rules deploy/prometheus/alerts.yaml" promtool check rules "$rules"
check "promtool check config deploy/prometheus/prometheus.yml" \
    promtool check config "$src/deploy/prometheus/prometheus.yml"
check "promtool test rules (every alert fires and stays quiet as expected)" \
    promtool test rules "$tests"

# Each alert appears in a test case that expects it to fire (a non-empty exp_alerts).
firing=$(awk '/alertname:/ {a=$2} /exp_alerts:/ && $2 != "[]" {print a}' "$tests" | sort -u)
n=0
for a in $(sed -n 's/^ *- alert: //p' "$rules"); do
    n=$((n + 1))
    grep -qx "$a" <<<"$firing" || bad "alert $a has no promtool test in which it fires"
done
[ "$n" -ge 10 ] && ok "$n alerts, each with a firing test" || bad "only $n alerts found"

# Mutants: the same tests against a broken copy of the rules must fail.
mkdir -p "$work/deploy/prometheus" "$work/tests/deploy/prometheus"
# The mutants run without the 27-hour full-sync group (no mutant touches it; promtool evaluates
# every rule each minute of it, most of a run's time): 8 full runs took over 60 s under load.
awk '/^  # --- scheduler: no full sync/ {skip=1; next} /^  # ---/ {skip=0} !skip' "$tests" \
    >"$work/tests/deploy/prometheus/alerts.test.yaml"
grep -q 'OktasyncTenantParked' "$work/tests/deploy/prometheus/alerts.test.yaml" &&
    ! grep -q 'OktasyncFullSyncMissing' "$work/tests/deploy/prometheus/alerts.test.yaml" ||
    bad "the mutants' copy of the tests is not the expected subset"
mutant() {
    sed -E "$2" "$rules" >"$work/deploy/prometheus/alerts.yaml"
    cmp -s "$rules" "$work/deploy/prometheus/alerts.yaml" && { bad "mutant '$1' changed nothing"; return; }
    if promtool test rules "$work/tests/deploy/prometheus/alerts.test.yaml" >/dev/null 2>&1; then
        bad "promtool tests pass against a rule file with $1"
    else ok "promtool tests catch $1"; fi
}
mutant "no for: durations" '/^ *for: /d'
mutant "lag threshold 100000" 's/consumer_lag\) > 10000/consumer_lag) > 100000/'
mutant "a wrong runbook link" '0,/runbook: "docs\/runbook.md#queue-lag"/s//runbook: "docs\/runbook.md#lag"/'
mutant "503 share 50 %" 's/> 0.05$/> 0.5/'
mutant "staleness summed over replicas" 's/max by \(tenant\) \(oktasync_worker_oldest_change_age_seconds\)/sum by (tenant) (oktasync_worker_oldest_change_age_seconds)/'
mutant "parked tenants not left out of staleness" '/unless on \(tenant\)/d'
mutant "transient faults counted as parked" 's/fault=~"credentials_invalid\|not_connected"\}\) == 1$/fault=~"credentials_invalid|not_connected|okta_unavailable"}) == 1/'

# Each runbook link names a section that exists in docs/runbook.md.
for anchor in $(sed -n 's/.*runbook: "docs\/runbook.md#\([^"]*\)".*/\1/p' "$rules" | sort -u); do
    found=0
    while read -r h; do
        slug=$(tr 'A-Z' 'a-z' <<<"$h" | sed -E 's/[^a-z0-9 -]//g; s/ /-/g')
        [ "$slug" = "$anchor" ] && found=1
    done < <(sed -n 's/^#\{2,4\} //p' "$src/docs/runbook.md")
    [ $found = 1 ] && ok "runbook section #$anchor exists" || bad "runbook section #$anchor missing"
done
finish
