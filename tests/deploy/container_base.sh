#!/usr/bin/env bash
# Makes the container test's Debian 12 base, once: debootstrap bookworm (minbase) into a
# tarball in $OKS_CONTAINER_CACHE (default /var/cache/oktasync), kept across runs and checkouts.
# Prints the tarball's path; exit 1 with debootstrap's last lines on stderr when it fails.
# Under the cache's lock, so the container test and scripts/test (which starts this in the
# background while the project builds: ~1 min cold, network and dpkg more than CPU) never make
# it twice or read it half made.
set -uo pipefail
cache=${OKS_CONTAINER_CACHE:-/var/cache/oktasync}
tar=$cache/debian-12-minbase.tar
mkdir -p "$cache" || { echo "cannot create cache folder $cache" >&2; exit 1; }
exec 9>"$cache/lock"
flock 9
if [ ! -s "$tar" ]; then
    command -v debootstrap >/dev/null || { echo "debootstrap missing" >&2; exit 1; }
    root=$cache/rootfs.$$
    log=$cache/debootstrap.log
    if ! debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$log" 2>&1; then
        rm -rf "$root"
        tail -2 "$log" >&2
        exit 1
    fi
    tar -C "$root" -cf "$tar.tmp" . && mv "$tar.tmp" "$tar"
    rc=$?
    rm -rf "$root"
    [ $rc -eq 0 ] || { echo "could not write $tar" >&2; exit 1; }
fi
echo "$tar"
