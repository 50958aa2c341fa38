#!/usr/bin/env bash
# Every binary answers --help, and every typed setting rejects a bad value with ONE line on
# stderr that names the flag and its environment variable, exit status 2 — from the flag and
# from the environment alike. The list of settings comes from each binary's own table
# (--print-config-markdown), so a new setting is covered without touching this test.
set -u
bin_dir=${OKS_BIN_DIR:?}
fail=0; checked=0
expected="oktasync-ingest oktasync-worker oktasync-scheduler oktasyncctl oktasync-devbroker"
for name in $expected; do
    [ -x "$bin_dir/$name" ] || { echo "FAIL missing binary $bin_dir/$name"; fail=$((fail+1)); }
done

bad_value_for() { # type -> a value that type must reject
    case "$1" in
        integer) echo "not-a-number" ;; bool) echo "maybe" ;; duration) echo "5 parsecs" ;;
        size) echo "12 bananas" ;; enum) echo "no-such-choice" ;; *) echo "" ;;
    esac
}

for exe in "$bin_dir"/oktasync*; do
    name=$(basename "$exe")
    out=$("$exe" --help 2>&1); rc=$?
    if [ $rc -ne 0 ] || ! grep -q "Usage: $name" <<<"$out"; then
        echo "FAIL $name --help (rc=$rc)"; fail=$((fail+1)); continue
    fi
    md=$("$exe" --print-config-markdown 2>/dev/null)
    while IFS='|' read -r _ flag env type _rest; do
        flag=$(tr -d ' `' <<<"$flag"); env=$(tr -d ' `' <<<"$env"); type=$(tr -d ' ' <<<"$type")
        case "$flag" in --*) ;; *) continue ;; esac
        bad=$(bad_value_for "$type"); [ -n "$bad" ] || continue
        for how in flag env; do
            if [ $how = flag ]; then
                err=$("$exe" "$flag=$bad" --check-config 2>&1 >/dev/null); rc=$?
            else
                err=$(env "$env=$bad" "$exe" --check-config 2>&1 >/dev/null); rc=$?
            fi
            lines=$(printf '%s\n' "$err" | grep -c .)
            if [ $rc -ne 2 ] || [ "$lines" -ne 1 ] || ! grep -qF -- "$flag ($env)" <<<"$err"; then
                echo "FAIL $name $how $flag=$bad: rc=$rc lines=$lines: $err"; fail=$((fail+1))
            fi
            checked=$((checked+1))
        done
    done <<<"$md"
    # Unknown flags are refused too.
    err=$("$exe" --no-such-setting=1 2>&1 >/dev/null); rc=$?
    if [ $rc -ne 2 ] || ! grep -q "unknown option --no-such-setting" <<<"$err"; then
        echo "FAIL $name unknown flag: rc=$rc: $err"; fail=$((fail+1))
    fi
    checked=$((checked+1))
done
echo "checked $checked bad values"
[ $checked -gt 20 ] || { echo "FAIL too few settings checked"; fail=$((fail+1)); }
echo "$((checked - fail)) passed, $fail failed"
[ $fail -eq 0 ]
