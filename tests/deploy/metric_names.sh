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
[ $n -gt 5 ] || { echo "FAIL only $n metric names found in deploy/"; fail=$((fail+1)); }
echo "$((n - fail)) passed, $fail failed"
[ $fail -eq 0 ]
