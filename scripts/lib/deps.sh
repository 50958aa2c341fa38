# shellcheck shell=bash
# Shared shell helpers for the entry scripts: install Debian 12 packages the project needs and
# build the tree. Source this file; it defines functions only.

# Every package the build, the tests and the local stack need.
OKS_DEB_PACKAGES=(build-essential cmake pkg-config clang libclang-rt-14-dev librdkafka-dev
    libcurl4-openssl-dev libjansson-dev libhiredis-dev libpq-dev libmicrohttpd-dev libssl-dev
    postgresql redis-server wrk nginx-light curl jq procps clang-format git)

# Tools the deploy checks (tests/deploy/) run, as COMMAND:PACKAGE. A tool counts as present when
# its command is on PATH, whatever package brought it (e.g. a kubectl from another source); its
# package is installed only otherwise. runc: podman's default runtime (crun) refuses hosts with
# a hybrid cgroup v1/v2 layout, runc runs there. Failing to install them does not stop the
# suite: each deploy test then skips and says which tool is missing.
OKS_DEB_TOOLS=(prometheus:prometheus promtool:prometheus systemd-analyze:systemd
    docker-compose:docker-compose kubectl:kubernetes-client podman:podman buildah:buildah
    runc:runc debootstrap:debootstrap)

# oks_tool_package COMMAND: the Debian package that provides COMMAND (from OKS_DEB_TOOLS).
oks_tool_package() {
    local t
    for t in "${OKS_DEB_TOOLS[@]}"; do
        [ "${t%%:*}" = "$1" ] && { printf '%s\n' "${t#*:}"; return 0; }
    done
    return 1
}

# Print the packages of the deploy tools whose command is missing (one per line, once each).
oks_missing_tools() {
    local t
    for t in "${OKS_DEB_TOOLS[@]}"; do
        command -v "${t%%:*}" >/dev/null 2>&1 || printf '%s\n' "${t#*:}"
    done | awk '!seen[$0]++'
}

# Print the packages from the list that are not installed (one per line).
oks_missing_deps() {
    local pkg status
    for pkg in "${OKS_DEB_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
        [ "$status" = installed ] || printf '%s\n' "$pkg"
    done
}

# Install what is missing with apt-get (Debian 12, as root). Does nothing, and does not touch
# apt at all, when every package is already there, so repeated runs stay fast.
oks_install_deps() {
    local missing
    mapfile -t missing < <(oks_missing_deps)
    if [ "${#missing[@]}" -eq 0 ]; then
        oks_install_tools
        return 0
    fi
    if [ "$(id -u)" -ne 0 ]; then
        echo "oktasync: missing packages: ${missing[*]}" >&2
        echo "oktasync: run as root (or: sudo apt-get install ${missing[*]})" >&2
        return 1
    fi
    echo "oktasync: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || { echo "oktasync: apt-get update failed" >&2; return 1; }
    # Debian starts postgresql/redis services on install; we run our own on other ports, so
    # the default services are harmless and left alone.
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
        { echo "oktasync: apt-get install failed for: ${missing[*]}" >&2; return 1; }
    oks_install_tools
}

# Install the deploy tools whose command is missing (as root, after oks_install_deps has run
# apt-get update). Never fails: on error it says which tests will skip, and returns 0.
oks_install_tools() {
    local missing
    mapfile -t missing < <(oks_missing_tools)
    [ "${#missing[@]}" -eq 0 ] && return 0
    if [ "$(id -u)" -ne 0 ]; then
        echo "oktasync: deploy tools missing (their tests will skip): ${missing[*]}" >&2
        return 0
    fi
    echo "oktasync: installing deploy tools ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    # Debian's prometheus package enables a service on :9090; our tests start their own on
    # other ports, so it is left alone.
    if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
            "${missing[@]}" >/dev/null; }; then
        echo "oktasync: could not install deploy tools (${missing[*]}); the deploy tests" \
            "that need them will skip" >&2
    fi
    return 0
}

# oks_build [BUILD_DIR] [extra cmake args...]: configure (RelWithDebInfo) and build with
# all cores. BUILD_DIR defaults to <checkout>/build.
oks_build() {
    local src build
    src=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    build=${1:-$src/build}
    [ $# -gt 0 ] && shift
    cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" ||
        { echo "oktasync: cmake configure failed ($build)" >&2; return 1; }
    cmake --build "$build" -j"$(nproc)" ||
        { echo "oktasync: build failed ($build)" >&2; return 1; }
}
