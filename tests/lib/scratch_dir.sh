#!/usr/bin/env bash
# oks_test_tmp_path's directory: gone after a passing run, kept with its files and named in the
# output after a failing one, kept after a passing one with OKS_TEST_KEEP_TMP=1.
set -u
bin=${OKS_TEST_BIN_DIR:?}/testlib_selftest
[ -x "$bin" ] || { echo "FAIL $bin not built"; echo "0 passed, 1 failed"; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
pass=0; fail=0
check() { # description, then a command that must succeed
    local what=$1; shift
    if "$@"; then pass=$((pass+1)); echo "ok   $what"; else fail=$((fail+1)); echo "FAIL $what"; fi
}
empty() { [ -z "$(ls -A "$T")" ]; }

out=$(TMPDIR=$T "$bin" writes_a_scratch_file_and_passes 2>&1); rc=$?
check "a passing run exits 0" [ $rc -eq 0 ]
check "a passing run leaves no scratch directory" empty

out=$(TMPDIR=$T "$bin" writes_a_scratch_file_and_fails 2>&1); rc=$?
dir=$(ls -d "$T"/oks-test-testlib_selftest-* 2>/dev/null)
check "a failing run exits 1" [ $rc -eq 1 ]
check "a failing run keeps its scratch directory and the file in it" [ -f "$dir/log.0" ]
check "and names the directory" grep -qF "kept in $dir" <<<"$out"
rm -rf "${T:?}"/*

out=$(OKS_TEST_KEEP_TMP=1 TMPDIR=$T "$bin" writes_a_scratch_file_and_passes 2>&1); rc=$?
check "OKS_TEST_KEEP_TMP=1: a passing run exits 0" [ $rc -eq 0 ]
check "OKS_TEST_KEEP_TMP=1: and keeps its scratch directory" test -n "$(ls -A "$T")"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
