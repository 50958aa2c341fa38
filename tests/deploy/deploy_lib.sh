# shellcheck shell=bash
# Shared by the tests in tests/deploy/: counting checks, and skipping (exit 77, CTest's
# SKIP_RETURN_CODE for these tests) when a tool could not be installed by scripts/lib/deps.sh.
src=${OKS_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
passed=0; failed=0
ok() { echo "  ok   $1"; passed=$((passed + 1)); }
bad() { echo "  FAIL $1"; failed=$((failed + 1)); }
# check WHAT CMD...: run CMD, count it as passed or failed.
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() { echo "$passed passed, $failed failed"; [ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]; exit $?; }
# need_tool COMMAND: skip the whole test when COMMAND is missing (the install failed or the
# machine is not Debian); the message names the package deps.sh would have installed.
need_tool() {
    command -v "$1" >/dev/null 2>&1 && return 0
    local pkg
    pkg=$("$BASH" -c "source '$src/scripts/lib/deps.sh'; oks_tool_package '$1'" 2>/dev/null)
    echo "SKIP: '$1' is not installed (Debian package ${pkg:-unknown}; scripts/lib/deps.sh" \
        "installs it, so the install must have failed: see the start of scripts/test's output)"
    exit 77
}

# known_setting OKTASYNC_NAME: true when docs/configuration.md (generated from the programs'
# configuration tables) lists NAME as the environment form of a setting.
known_setting() { grep -q "| \`$1\` |" "$src/docs/configuration.md"; }
# jqe ARGS...: jq -e, quietly (for check).
jqe() { jq -e "$@" >/dev/null; }
# free_port: a loopback TCP port nobody listens on now (random in 20000-32767, below Linux's
# ephemeral range so client sockets do not take it meanwhile).
free_port() {
    local p i
    for i in $(seq 1 50); do
        p=$((20000 + RANDOM % 12768))
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return 0; }
    done
    return 1
}
# daemon_config PROGRAM ENVFILE: PROGRAM's effective settings (JSON from --check-config) with the
# KEY=VALUE lines of ENVFILE as its only environment: what the daemon really runs with when a
# deploy file gives it that environment.
daemon_config() {
    env -i PATH=/usr/bin:/bin bash -c \
        "set -a; source '$2'; exec '${OKS_BIN_DIR:?}/$1' --check-config"
}
# worker_runs_jobs ENVFILE: with that environment the worker consumes the topic the scheduler
# (same environment) produces full-sync jobs to. The worker's own default is "" (not consumed),
# so a deploy file must set OKTASYNC_JOBS_TOPIC for the jobs to be taken in (and for KEDA's
# trigger on jobs lag to read offsets that move).
worker_runs_jobs() {
    local w s
    w=$(daemon_config oktasync-worker "$1" | jq -r '."jobs-topic"') || return 1
    s=$(daemon_config oktasync-scheduler "$1" | jq -r '."jobs-topic"') || return 1
    [ -n "$w" ] && [ "$w" = "$s" ]
}
