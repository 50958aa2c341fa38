#!/usr/bin/env bash
# scripts/stack on a private state folder and private ports (never the shared stack other tests
# use): up, up again (harmless, nothing restarted), status, crash recovery, down stops only what
# it started, status afterwards = 1, bad settings and a missing broker binary give clear errors.
set -uo pipefail

SRC=${OKS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
STACK=$SRC/scripts/stack
export OKS_BIN_DIR=${OKS_BIN_DIR:-$SRC/build/bin}
T=$(mktemp -d /tmp/oks_stack_test.XXXXXX)
export OKTASYNC_STATE_DIR=$T/state OKTASYNC_STACK_TIMEOUT=60
FAILS=0
OTHER_REDIS_PID=

fail() {
    echo "FAIL: $*" >&2
    [ -n "${out:-}" ] && sed "s/^/    | /" <<<"$out" >&2
    FAILS=$((FAILS + 1))
}
check() { local what=$1; shift; if "$@"; then echo "ok   $what"; else fail "$what"; fi; }

cleanup() {
    "$STACK" down >/dev/null 2>&1
    [ -n "$OTHER_REDIS_PID" ] && kill "$OTHER_REDIS_PID" 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT

port_free() { ! timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }
pick_port() {
    local p
    for _ in $(seq 1 50); do
        p=$((20000 + RANDOM % 12000)) # below the ephemeral range (32768+): no client port races
        if port_free "$p" && [ "$p" != "${1:-}" ]; then echo "$p"; return; fi
    done
    echo "no free port" >&2
    exit 1
}
export OKTASYNC_STACK_PG_PORT=$(pick_port)
export OKTASYNC_STACK_REDIS_PORT=$(pick_port "$OKTASYNC_STACK_PG_PORT")
PG=$OKTASYNC_STACK_PG_PORT
RP=$OKTASYNC_STACK_REDIS_PORT
ENVF=$OKTASYNC_STATE_DIR/stack.env

pg_pid() { head -n 1 "$OKTASYNC_STATE_DIR/pg/postmaster.pid" 2>/dev/null; }
redis_pid() { cat "$OKTASYNC_STATE_DIR/redis/redis.pid" 2>/dev/null; }
broker_pid() { cat "$OKTASYNC_STATE_DIR/devbroker/devbroker.pid" 2>/dev/null; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
# Gone (or a zombie) within 5 s: the postmaster removes its pidfile just before it exits.
dead() {
    for _ in $(seq 1 50); do
        alive "$1" || return 0
        [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" = Z ] && return 0
        sleep 0.1
    done
    return 1
}
env_value() { sed -n "s/^$1=//p" "$ENVF"; }

# --- bad settings are refused before anything starts ---
out=$(OKTASYNC_STACK_PG_PORT=notaport "$STACK" up 2>&1); rc=$?
check "bad port refused" [ "$rc" -ne 0 ]
check "bad port message names the setting" grep -q "OKTASYNC_STACK_PG_PORT" <<<"$out"
out=$("$STACK" sideways 2>&1); rc=$?
check "unknown command is a usage error" [ "$rc" -eq 2 ]

# --- first up ---
out=$("$STACK" up 2>&1); rc=$?
check "up exits 0" [ "$rc" -eq 0 ] || echo "$out" >&2
check "env has database url" [ "$(env_value OKTASYNC_DATABASE_URL)" = "postgresql://oktasync@127.0.0.1:$PG/oktasync" ]
check "env has redis url" [ "$(env_value OKTASYNC_REDIS_URL)" = "redis://127.0.0.1:$RP/0" ]
BOOT=$(env_value OKTASYNC_KAFKA_BROKERS)
check "env has kafka brokers" grep -Eq '^127\.0\.0\.1:[0-9]+$' <<<"$BOOT"
check "env has control url" grep -Eq '^http://127\.0\.0\.1:[0-9]+$' <<<"$(env_value OKTASYNC_DEVBROKER_CONTROL)"
check "up prints the addresses" grep -q "127.0.0.1:$PG" <<<"$out"
check "database oktasync answers as role oktasync" \
    [ "$(psql -XtA -h 127.0.0.1 -p "$PG" -U oktasync -d oktasync -c 'select current_user' 2>&1)" = oktasync ]
check "postgres listens on loopback only" \
    [ "$(psql -XtA -h 127.0.0.1 -p "$PG" -U oktasync -d oktasync -c 'show listen_addresses')" = 127.0.0.1 ]
if [ "$(id -u)" -eq 0 ]; then
    check "postgres does not run as root" [ "$(ps -o user= -p "$(pg_pid)" | tr -d ' ')" = oktasync ]
fi
check "redis answers" [ "$(redis-cli -h 127.0.0.1 -p "$RP" ping)" = PONG ]
check "redis keeps nothing on disk" [ "$(redis-cli -h 127.0.0.1 -p "$RP" config get save | tail -n 1)" = "" ]
check "broker accepts connections" timeout 2 bash -c "exec 3<>/dev/tcp/${BOOT%:*}/${BOOT##*:}"
check "control API healthz" [ "$(curl -s -m 5 "$(env_value OKTASYNC_DEVBROKER_CONTROL)/healthz")" = ok ]

# --- up again: harmless, nothing restarted ---
P1=$(pg_pid) R1=$(redis_pid) B1=$(broker_pid)
"$STACK" up >/dev/null 2>&1; rc=$?
check "second up exits 0" [ "$rc" -eq 0 ]
check "second up kept postgres" [ "$(pg_pid)" = "$P1" ]
check "second up kept redis" [ "$(redis_pid)" = "$R1" ]
check "second up kept the broker" [ "$(broker_pid)" = "$B1" ]
check "second up kept the bootstrap address" [ "$(env_value OKTASYNC_KAFKA_BROKERS)" = "$BOOT" ]

out=$("$STACK" status 2>&1); rc=$?
check "status exits 0 when all up" [ "$rc" -eq 0 ]
check "status shows three services up" [ "$(grep -c ' up ' <<<"$out")" -eq 3 ]
# The ports chosen at `up` are remembered: status and down need not repeat the environment.
out=$(env -u OKTASYNC_STACK_PG_PORT -u OKTASYNC_STACK_REDIS_PORT "$STACK" status 2>&1); rc=$?
check "status without the port variables finds the stack" [ "$rc" -eq 0 ]

# --- a crashed service is reported and restarted by up, the others kept ---
kill -9 "$B1"
for _ in $(seq 1 50); do alive "$B1" || break; sleep 0.1; done
out=$("$STACK" status 2>&1); rc=$?
check "status exits 1 with the broker dead" [ "$rc" -eq 1 ]
check "status names the dead broker" grep -q "devbroker  down" <<<"$out"
"$STACK" up >/dev/null 2>&1; rc=$?
check "up after a crash exits 0" [ "$rc" -eq 0 ]
check "broker restarted" alive "$(broker_pid)"
check "postgres untouched by the restart" [ "$(pg_pid)" = "$P1" ]

# --- down stops what it started and nothing else ---
OTHER_PORT=$(pick_port "$RP")
redis-server --port "$OTHER_PORT" --bind 127.0.0.1 --save '' --appendonly no >/dev/null 2>&1 &
OTHER_REDIS_PID=$!
P2=$(pg_pid) R2=$(redis_pid) B2=$(broker_pid)
env -u OKTASYNC_STACK_PG_PORT -u OKTASYNC_STACK_REDIS_PORT "$STACK" down >/dev/null 2>&1; rc=$?
check "down exits 0 (without the port variables)" [ "$rc" -eq 0 ]
check "postgres stopped" dead "$P2"
check "redis stopped" dead "$R2"
check "broker stopped" dead "$B2"
check "stack.env removed" [ ! -e "$ENVF" ]
check "an unrelated redis-server survives down" alive "$OTHER_REDIS_PID"
out=$("$STACK" status 2>&1); rc=$?
check "status exits 1 after down" [ "$rc" -eq 1 ]
check "status shows three services down" [ "$(grep -c ' down ' <<<"$out")" -eq 3 ]
"$STACK" down >/dev/null 2>&1; rc=$?
check "down twice is harmless" [ "$rc" -eq 0 ]

# --- a missing broker binary is a clear error naming the service and its fix ---
out=$(OKS_BIN_DIR=$T/nowhere "$STACK" up 2>&1); rc=$?
check "up without a broker binary fails" [ "$rc" -ne 0 ]
check "the error names the devbroker and the build step" grep -q "devbroker: .*oktasync-devbroker not found" <<<"$out"

# --- a service dying during start-up is reported at once, with its log, not after the timeout ---
mkdir -p "$T/badbin"
printf '#!/bin/sh\necho "simulated start-up failure" >&2\nexit 1\n' >"$T/badbin/oktasync-devbroker"
chmod +x "$T/badbin/oktasync-devbroker"
t0=$SECONDS
out=$(OKS_BIN_DIR=$T/badbin "$STACK" up 2>&1); rc=$?
check "a dying broker fails up" [ "$rc" -ne 0 ]
check "the error says it exited and shows its log" \
    grep -q "devbroker: exited during start-up" <<<"$out"
check "the log tail is shown" grep -q "simulated start-up failure" <<<"$out"
check "reported without waiting for the timeout" [ $((SECONDS - t0)) -lt 20 ]

# --- a port taken by someone else is named ---
"$STACK" down >/dev/null 2>&1
out=$(OKTASYNC_STACK_REDIS_PORT=$OTHER_PORT "$STACK" up 2>&1); rc=$?
check "up with redis port taken fails" [ "$rc" -ne 0 ]
check "the error names redis and the port" grep -q "redis: port $OTHER_PORT is already in use" <<<"$out"

if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS check(s) failed" >&2
    exit 1
fi
echo "all checks passed"
