#!/usr/bin/env bash
# Every C file under version control follows .clang-format (run `clang-format -i FILE` to fix).
set -u
src=${OKS_SOURCE_DIR:?}
cd "$src" || exit 1
command -v clang-format >/dev/null || { echo "clang-format missing (scripts/lib/deps.sh installs it)"; echo "0 passed, 1 failed"; exit 1; }
files=$(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build*')
ok=0; bad=0
for f in $files; do
    if clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then ok=$((ok+1)); else echo "FAIL not formatted: $f"; bad=$((bad+1)); fi
done
echo "$ok passed, $bad failed"
[ $bad -eq 0 ]
