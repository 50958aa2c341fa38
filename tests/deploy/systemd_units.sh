#!/usr/bin/env bash
# systemd reads deploy/systemd/: `systemd-analyze verify` on every unit (any warning counts as a
# failure: verify itself exits 0 on unknown keys), `systemd-analyze security --offline` with an
# exposure of at most 2.0, each daemon has a unit with a restart policy and the shared
# environment file, every OKTASYNC_* name there is a real setting, the daemons accept the
# example environment (--check-config), and broken copies of a unit are caught.
set -uo pipefail
source "$(dirname "$0")/deploy_lib.sh"
need_tool systemd-analyze
bin=${OKS_BIN_DIR:?}
units=$src/deploy/systemd
R=$(mktemp -d); trap 'rm -rf "$R"' EXIT
# A private root: systemd's own units (for sysinit.target etc.), the built binaries where the
# units expect them (ExecStart must be executable), and our units.
mkdir -p "$R/usr/lib/systemd" "$R/usr/local/bin" "$R/etc/systemd/system" "$R/etc/oktasync"
cp -r /usr/lib/systemd/system "$R/usr/lib/systemd/"
for b in oktasync-ingest oktasync-worker oktasync-scheduler oktasyncctl; do
    cp "$bin/$b" "$R/usr/local/bin/"
done
cp "$units"/*.service "$units"/*.target "$R/etc/systemd/system/"
cp "$units/oktasync.env.example" "$R/etc/oktasync/oktasync.env"

# verify UNIT: exit 0 and not a word of complaint.
verify() { local out; out=$(cd "$R/etc/systemd/system" && systemd-analyze verify --root="$R" "$@" 2>&1) &&
    [ -z "$out" ] || { echo "$out" | sed 's/^/      /'; return 1; }; }
instances=(oktasync-migrate.service oktasync-ingest.service oktasync-worker@9101.service
    oktasync-scheduler.service oktasync.target)
for u in "${instances[@]}"; do check "systemd-analyze verify $u" verify "$u"; done
for u in oktasync-ingest.service oktasync-worker@9101.service oktasync-scheduler.service oktasync-migrate.service; do
    exposure=$(cd "$R/etc/systemd/system" && systemd-analyze security --offline=true --root="$R" "$u" 2>&1 |
        sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
    check "$u: security exposure ${exposure:-?} <= 2.0" awk -v e="${exposure:-99}" 'BEGIN{exit !(e <= 2.0)}'
done

for d in ingest worker@ scheduler; do
    f="$units/oktasync-$d.service"
    check "oktasync-$d.service: Restart=always" grep -qx "Restart=always" "$f"
    check "oktasync-$d.service: reads /etc/oktasync/oktasync.env" grep -qx 'EnvironmentFile=/etc/oktasync/oktasync.env' "$f"
    check "oktasync-$d.service: no privileges" grep -qx 'NoNewPrivileges=yes' "$f"
done
ports=$(sed -n 's/^Environment=OKTASYNC_ADMIN_LISTEN=[^:]*:\([0-9]*\)$/\1/p' "$units"/oktasync-ingest.service "$units"/oktasync-scheduler.service)
check "ingest and scheduler use different admin ports" \
    [ "$(sort -u <<<"$ports" | wc -l)" -eq 2 ]

names=$(grep -ohE 'OKTASYNC_[A-Z0-9_]+' "$units"/* | sort -u)
for n in $names; do check "$n is a setting" known_setting "$n"; done
for d in ingest worker scheduler; do
    check "oktasync-$d --check-config accepts the example environment" env -i PATH=/usr/bin:/bin bash -c \
        "set -a; source '$units/oktasync.env.example'; OKTASYNC_ADMIN_LISTEN=0.0.0.0:9101 exec '$bin/oktasync-$d' --check-config >/dev/null"
done

check "with the example environment the worker consumes the scheduler's jobs topic" \
    worker_runs_jobs "$units/oktasync.env.example"

# Mutants: verify must complain about a misspelt key, a bad value and a missing binary.
mutant() {
    sed -E "$2" "$units/oktasync-ingest.service" >"$R/etc/systemd/system/oktasync-mutant.service"
    if verify oktasync-mutant.service >/dev/null 2>&1; then bad "verify misses $1"; else ok "verify catches $1"; fi
}
mutant "a misspelt key" 's/^Restart=/Restrat=/'
mutant "a bad restart value" "s/^Restart=always/Restart=sometimes/"
mutant "a missing binary" 's|^ExecStart=/usr/local/bin/oktasync-ingest|ExecStart=/usr/local/bin/oktasync-nope|'
rm -f "$R/etc/systemd/system/oktasync-mutant.service"
finish
