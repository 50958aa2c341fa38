#!/usr/bin/env bash
# scripts/lib/deps.sh with dpkg-query and apt-get replaced by shims on PATH (the real ones are
# never run): nothing missing -> apt untouched; something missing -> one update, one
# non-interactive quiet install of exactly the missing packages; apt failure -> non-zero.
set -uo pipefail

SRC=${OKS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
T=$(mktemp -d /tmp/oks_deps_test.XXXXXX)
trap 'rm -rf "$T"' EXIT
FAILS=0
fail() { echo "FAIL: $*" >&2; FAILS=$((FAILS + 1)); }
check() { local what=$1; shift; if "$@"; then echo "ok   $what"; else fail "$what"; fi; }

mkdir -p "$T/bin"
# dpkg-query shim: every package installed except those listed in $T/missing.
cat >"$T/bin/dpkg-query" <<SHIM
#!/bin/sh
pkg=\$(eval echo "\\\${\$#}")
if grep -qx "\$pkg" "$T/missing" 2>/dev/null; then echo -n "not-installed"; else echo -n "installed"; fi
SHIM
# apt-get shim: log each call (with DEBIAN_FRONTEND); fail when $T/apt-fails exists.
cat >"$T/bin/apt-get" <<SHIM
#!/bin/sh
echo "FRONTEND=\$DEBIAN_FRONTEND \$*" >>"$T/apt.log"
[ ! -e "$T/apt-fails" ]
SHIM
chmod +x "$T/bin/dpkg-query" "$T/bin/apt-get"

run_deps() { PATH="$T/bin:$PATH" bash -c "source '$SRC/scripts/lib/deps.sh' && $1" 2>&1; }

: >"$T/missing"
out=$(run_deps oks_install_deps); rc=$?
check "nothing missing: success" [ "$rc" -eq 0 ]
check "nothing missing: apt not called" [ ! -e "$T/apt.log" ]
check "missing list empty" [ -z "$(run_deps oks_missing_deps)" ]

printf 'jq\nwrk\n' >"$T/missing"
check "missing list names them" [ "$(run_deps oks_missing_deps | tr '\n' ' ')" = "wrk jq " ]
if [ "$(id -u)" -eq 0 ]; then
    out=$(run_deps oks_install_deps); rc=$?
    check "missing: success" [ "$rc" -eq 0 ]
    check "missing: apt-get update once, quiet" [ "$(grep -c ' update' "$T/apt.log")" -eq 1 ] &&
        grep -q "update -qq" "$T/apt.log"
    check "missing: installs exactly the missing, non-interactive" \
        grep -q "^FRONTEND=noninteractive install -y -qq --no-install-recommends wrk jq$" "$T/apt.log"
    rm -f "$T/apt.log"
    touch "$T/apt-fails"
    out=$(run_deps oks_install_deps); rc=$?
    check "apt failure is an error" [ "$rc" -ne 0 ]
    check "apt failure is explained" grep -q "apt-get update failed" <<<"$out"
else
    out=$(run_deps oks_install_deps); rc=$?
    check "non-root with missing packages fails" [ "$rc" -ne 0 ]
    check "non-root message names the packages" grep -q "missing packages: wrk jq" <<<"$out"
fi
check "every required package is in the list" bash -c "source '$SRC/scripts/lib/deps.sh'; \
    for p in build-essential cmake pkg-config clang libclang-rt-14-dev librdkafka-dev \
    libcurl4-openssl-dev libjansson-dev libhiredis-dev libpq-dev libmicrohttpd-dev libssl-dev \
    postgresql redis-server wrk nginx-light curl jq procps; do \
    printf '%s\n' \"\${OKS_DEB_PACKAGES[@]}\" | grep -qx \"\$p\" || exit 1; done"

if [ "$FAILS" -ne 0 ]; then
    echo "$FAILS check(s) failed" >&2
    exit 1
fi
echo "all checks passed"
