#!/usr/bin/env bash
# docs/configuration.md is generated from the binaries' config tables; fail if it is stale.
set -u
src=${OKS_SOURCE_DIR:?}
tmp=$(mktemp); trap 'rm -f "$tmp"' EXIT
OKS_BIN_DIR=${OKS_BIN_DIR:?} bash "$src/scripts/gen-config-docs" "$tmp" || exit 1
if ! diff -u "$src/docs/configuration.md" "$tmp"; then
    echo "docs/configuration.md is stale: run scripts/gen-config-docs"
    echo "0 passed, 1 failed"; exit 1
fi
echo "1 passed, 0 failed"
