#!/usr/bin/env bash
# scripts/lib/deps.sh installs the deploy tools (prometheus, docker-compose, kubectl, podman,
# ...) by command, not by package: a tool already on PATH is left alone, a missing one gets its
# Debian package; a failed install does not stop the suite, and the deploy tests then skip
# with a message naming the package. apt-get and dpkg-query are shims (never really run).
set -uo pipefail
source "$(dirname "$0")/deploy_lib.sh"
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
mkdir -p "$T/bin"
for c in id awk cat; do ln -s "$(command -v $c)" "$T/bin/$c"; done
printf '#!/bin/sh\necho -n installed\n' >"$T/bin/dpkg-query"
cat >"$T/bin/apt-get" <<SHIM
#!/bin/sh
echo "FRONTEND=\$DEBIAN_FRONTEND \$*" >>"$T/apt.log"
[ ! -e "$T/apt-fails" ]
SHIM
chmod +x "$T/bin/dpkg-query" "$T/bin/apt-get"
deps() { PATH="$T/bin" /bin/bash -c "source '$src/scripts/lib/deps.sh' && $1" 2>&1; }

all="prometheus systemd docker-compose kubernetes-client podman buildah runc debootstrap"
check "every tool missing: each package listed once" \
    [ "$(deps oks_missing_tools | tr '\n' ' ')" = "$all " ]
printf '#!/bin/sh\n' >"$T/bin/kubectl"; chmod +x "$T/bin/kubectl"
check "kubectl on PATH from elsewhere: kubernetes-client not asked for" \
    [ "$(deps oks_missing_tools | tr '\n' ' ')" = "prometheus systemd docker-compose podman buildah runc debootstrap " ]
check "promtool's package is prometheus" [ "$(deps 'oks_tool_package promtool')" = prometheus ]
check "unknown tool has no package" bash -c "! PATH='$T/bin' /bin/bash -c \"source '$src/scripts/lib/deps.sh'; oks_tool_package nope\""

if [ "$(id -u)" -eq 0 ]; then
    out=$(deps oks_install_deps); rc=$?
    check "core packages present, tools missing: success" [ $rc -eq 0 ]
    check "installs exactly the missing tools, non-interactive" grep -qx \
        "FRONTEND=noninteractive install -y -qq --no-install-recommends prometheus systemd docker-compose podman buildah runc debootstrap" "$T/apt.log"
    rm -f "$T/apt.log"; touch "$T/apt-fails"
    out=$(deps oks_install_deps); rc=$?
    check "a failed tool install does not fail the suite" [ $rc -eq 0 ]
    check "a failed tool install is explained" grep -q "could not install deploy tools" <<<"$out"
    rm -f "$T/apt-fails"
    for c in prometheus promtool systemd-analyze docker-compose podman buildah runc debootstrap; do
        printf '#!/bin/sh\n' >"$T/bin/$c"; chmod +x "$T/bin/$c"
    done
    rm -f "$T/apt.log"
    out=$(deps oks_install_deps); rc=$?
    check "every tool present: apt untouched" [ $rc -eq 0 ] && [ ! -e "$T/apt.log" ]
else
    echo "  (not root: the install path is not exercised)"
fi

out=$(PATH="$T/bin:/usr/bin:/bin" OKS_SOURCE_DIR=$src bash -c \
    "source '$src/tests/deploy/deploy_lib.sh'; need_tool oktasync-no-such-tool; echo not-skipped"); rc=$?
check "need_tool skips with exit 77" [ $rc -eq 77 ]
check "the skip message says why" grep -q "^SKIP: 'oktasync-no-such-tool' is not installed" <<<"$out"
out=$(OKS_SOURCE_DIR=$src bash -c "PATH='$T/bin2'; source '$src/tests/deploy/deploy_lib.sh'; need_tool podman" 2>&1)
check "the skip message names the Debian package" grep -q "Debian package podman" <<<"$out"
finish
