#!/usr/bin/env bash
# Alerts and dashboards must name metrics the daemons really export: a renamed metric would
# otherwise silence an alert without anyone noticing.
set -u
src=${OKS_SOURCE_DIR:?}
known=$(grep -rhoE '"oktasync_[a-z0-9_]+"' "$src/ingest" "$src/worker" "$src/scheduler" "$src/common" | tr -d '"' | sort -u)
used=$(grep -rhoE 'oktasync_[a-z0-9_]+' "$src/deploy/prometheus" "$src/deploy/grafana" | sort -u)
fail=0; n=0
for m in $used; do
    base=$(sed -E 's/_(bucket|sum|count)$//' <<<"$m")
    n=$((n+1))
    grep -qx "$m" <<<"$known" || grep -qx "$base" <<<"$known" || { echo "FAIL unknown metric $m"; fail=$((fail+1)); }
done
# Gauges read from the database are fleet-wide (every worker replica reports the same value):
# summing them over replicas multiplies the backlog by the replica count. Aggregate with max.
fleet='oktasync_worker_(dirty_users|oldest_change_age_seconds|tenant_fault)'
summed() { grep -oE "sum( (by|without) \([^)]*\))? ?\($fleet\b" "$@"; }
summed <<<'sum by (tenant) (oktasync_worker_dirty_users)' >/dev/null ||
    { echo "FAIL the fleet-wide gauge check does not catch a sum"; fail=$((fail+1)); }
if bad_sums=$(summed -r "$src/deploy/prometheus" "$src/deploy/grafana"); then
    echo "FAIL fleet-wide gauge summed over replicas (use max by): $bad_sums"; fail=$((fail+1))
fi
for g in oktasync_worker_dirty_users oktasync_worker_oldest_change_age_seconds oktasync_worker_tenant_fault; do
    grep -q "max by (tenant[^)]*) ($g" "$src/deploy/grafana/oktasync-dashboard.json" ||
        { echo "FAIL dashboard has no max-by-tenant panel for $g"; fail=$((fail+1)); }
done
[ $n -gt 5 ] || { echo "FAIL only $n metric names found in deploy/"; fail=$((fail+1)); }
echo "$((n - fail)) passed, $fail failed"
[ $fail -eq 0 ]
