#!/usr/bin/env bash
# podman builds deploy/container/Dockerfile, unchanged, on a Debian 12 base made here with
# debootstrap (no registry is reachable), and runs the fleet's binaries from the image against
# the local stack: every binary's --help, the image's user, migrations and a tenant made with
# the image's oktasyncctl, ingest and worker containers answering /healthz, one Okta event hook
# end to end (hook -> ingest -> Kafka -> worker -> row), and SIGTERM through tini draining both
# to exit status 0.
#
# Cache (outside the checkout, so it survives `git clean` and is shared by both passes of
# scripts/test): the debootstrap base as a tarball in $OKS_CONTAINER_CACHE (default
# /var/cache/oktasync; made by container_base.sh, which scripts/test starts early), imported
# into podman's storage once and tagged debian:12 and debian:12-slim (the names the Dockerfile
# uses); podman keeps the apt layers between builds.
# Cold: ~1 min debootstrap + ~1 min build; warm: ~40 s (the compile step reruns when sources
# changed). Runtime: runc when available (crun refuses this machine's hybrid cgroup layout).
set -uo pipefail
source "$(dirname "$0")/deploy_lib.sh"
need_tool podman
need_tool debootstrap
source "$src/scripts/lib/fleet.sh"
set -a; source "${OKTASYNC_STATE_DIR:-$src/.state}/stack.env"; set +a
bin=${OKS_BIN_DIR:?}
mult=${OKS_TEST_TIMEOUT_MULTIPLIER:-1}
image=localhost/oktasync:suite
work=$(mktemp -d); db="oks_img_$$_$RANDOM"; run="img$$x$RANDOM"
admin_db=$OKTASYNC_DATABASE_URL; db_url="${admin_db%/*}/$db"
names=()
cleanup() {
    for n in "${names[@]}"; do podman rm -f -t 0 "$n" >/dev/null 2>&1; done
    oks_fleet_stop "$work" >/dev/null 2>&1
    psql "$admin_db" -XAtq -c "drop database if exists \"$db\" with (force)" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
wait_for() { local t=$(( $1 * 5 * mult )); shift; for _ in $(seq 1 $t); do "$@" && return 0; sleep 0.2; done; return 1; }
t0=$SECONDS; el() { echo "$((SECONDS - t0))s"; }

# Private podman settings (the system's containers.conf is left alone).
conf=$work/containers.conf
printf '[containers]\ndefault_ulimits = []\n' >"$conf"
command -v runc >/dev/null && printf '[engine]\nruntime = "runc"\n' >>"$conf"
export CONTAINERS_CONF=$conf

# --- the Debian 12 base ---------------------------------------------------------------------
if ! podman image exists docker.io/library/debian:12; then
    base=$(bash "$src/tests/deploy/container_base.sh" 2>"$work/base.err") ||
        { bad "debootstrap of the base failed: $(tail -2 "$work/base.err")"; finish; }
    podman import "$base" localhost/oks-debian-base:12 >/dev/null 2>&1 &&
        podman tag localhost/oks-debian-base:12 docker.io/library/debian:12 docker.io/library/debian:12-slim ||
        { bad "podman import of the base failed"; finish; }
fi
if ! ver=$(podman run --rm docker.io/library/debian:12 cat /etc/debian_version 2>"$work/run.err"); then
    echo "SKIP: podman cannot run a container on this machine: $(tail -1 "$work/run.err")"
    exit 77
fi
ok "Debian 12 base image runs (debian_version $ver, $(el))"

# --- the build --------------------------------------------------------------------------------
# Compile layers (~1 GB each) of builds older than an hour; a newer one is reused by the
# second pass of scripts/test. The apt layers are parents of the tagged image and stay.
podman image prune -f --filter until=1h >/dev/null 2>&1
if podman build --pull=never --network host --ignorefile "$src/deploy/container/Dockerfile.dockerignore" \
        -f "$src/deploy/container/Dockerfile" -t "$image" "$src" >"$work/build.log" 2>&1; then
    ok "podman build deploy/container/Dockerfile ($(el))"
else bad "podman build failed: $(tail -3 "$work/build.log")"; finish; fi

# --- the binaries in the image ---------------------------------------------------------------
for b in oktasync-ingest oktasync-worker oktasync-scheduler oktasyncctl; do
    out=$(podman run --rm "$image" "$b" --help 2>&1); rc=$?
    [ $rc -eq 0 ] && [[ "$out" == "$b "[0-9]* ]] && ok "$b --help in the image" || bad "$b --help: exit $rc: ${out:0:100}"
done
check "the image runs as uid 10001, not root" [ "$(podman run --rm "$image" id -u)" = 10001 ]
out=$(podman run --rm "$image" oktasync-worker --lag-interval nope 2>&1); rc=$?
[ $rc -eq 2 ] && [[ "$out" == *"invalid value for --lag-interval"* ]] &&
    ok "a bad setting stops a daemon in the image with status 2 and says which" || bad "bad setting: exit $rc: $out"

# --- one event end to end, daemons from the image, stack and simulator on the host ------------
psql "$admin_db" -XAtq -c "create database \"$db\"" || { bad "create database"; finish; }
key=$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')
envs=(-e OKTASYNC_DATABASE_URL="$db_url" -e OKTASYNC_SECRET_KEY="$key" -e OKTASYNC_REDIS_URL="$OKTASYNC_REDIS_URL"
      -e OKTASYNC_KAFKA_BROKERS="$OKTASYNC_KAFKA_BROKERS")
ctl() { podman run --rm --network host "${envs[@]}" "$image" oktasyncctl "$@"; }
ctl migrate >/dev/null && ok "oktasyncctl migrate from the image" || { bad "migrate from the image"; finish; }
for t in events dead-letter; do
    curl -fsS -X POST "$OKTASYNC_DEVBROKER_CONTROL/topics?name=$run-$t&partitions=3" >/dev/null || bad "topic $run-$t"
done
oks_fleet_start "$work" sim "$bin/oktasync-okta-sim" --listen 127.0.0.1:0 --users 20 --seed 3 \
    --token img-token >/dev/null || { bad "sim start"; finish; }
sim=$(oks_fleet_addr "$work" sim http)
app=$(curl -fsS "$sim/__sim/info" | jq -r .app_id)
secret=$(ctl --json tenant add --subdomain "img$$" --okta-domain "$sim" --app-id "$app" --client-id c1 \
    --api-token img-token | jq -r .webhook_secret)
[ -n "$secret" ] && [ "$secret" != null ] && ok "oktasyncctl tenant add from the image" || { bad "tenant add"; finish; }

ia=$(free_port); ih=$(free_port); wa=$(free_port)
daemon() {  # daemon NAME ARGS...: a detached container on the host network
    local n="oks-$1-$$"; shift
    names+=("$n")
    podman run -d --name "$n" --network host "${envs[@]}" "$image" "$@" >/dev/null
}
daemon ingest oktasync-ingest --admin-listen 127.0.0.1:$ia --http-listen 127.0.0.1:$ih --kafka-topic "$run-events" ||
    bad "ingest container did not start"
daemon worker oktasync-worker --admin-listen 127.0.0.1:$wa --group-id "$run-g" --events-topic "$run-events" \
    --dead-letter-topic "$run-dead-letter" --kafka-config "session.timeout.ms=6000;heartbeat.interval.ms=500" ||
    bad "worker container did not start"
healthy() { curl -fsS -o /dev/null "http://127.0.0.1:$1/healthz"; }
wait_for 30 healthy $ia && ok "ingest in a container answers /healthz" || bad "ingest /healthz: $(podman logs --tail 3 "oks-ingest-$$" 2>&1)"
wait_for 30 healthy $wa && ok "worker in a container answers /healthz" || bad "worker /healthz: $(podman logs --tail 3 "oks-worker-$$" 2>&1)"

user=$(curl -fsS "$sim/api/v1/apps/$app/users?limit=1&expand=user" -H 'Authorization: SSWS img-token' | jq -r '.[0].id')
title=$(curl -fsS "$sim/api/v1/users/$user" -H 'Authorization: SSWS img-token' | jq -r .profile.title)
body=$(jq -n --arg u "$user" --arg id "$run-1" '{eventType:"com.okta.event_hook", eventId:$id,
    data:{events:[{uuid:$id, published:"2026-01-01T00:00:00.000Z", eventType:"user.account.update_profile",
    target:[{id:$u, type:"User"}]}]}}')
ready() { curl -fsS -o /dev/null "http://127.0.0.1:$ia/readyz"; }
wait_for 20 ready || bad "ingest never ready"
code=$(curl -sS -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$ih/webhooks/okta/img$$" \
    -H "Authorization: $secret" -H 'Content-Type: application/json' --data-binary "$body")
check "hook accepted by ingest in a container (200)" [ "$code" = 200 ]
row() { [ "$(psql "$db_url" -XAtq -c "select title from users where okta_id='$user'")" = "$title" ]; }
wait_for 40 row && ok "worker in a container wrote the user row ($title, $(el))" ||
    bad "no row: $(podman logs --tail 3 "oks-worker-$$" 2>&1)"

for d in ingest worker; do
    podman stop -t 30 "oks-$d-$$" >/dev/null 2>&1
    rc=$(podman inspect -f '{{.State.ExitCode}}' "oks-$d-$$")
    check "$d drains on SIGTERM through tini and exits 0 (got $rc)" [ "$rc" = 0 ]
done
echo "  total $(el)"
finish
