#!/usr/bin/env bash
# Every binary answers --help, and every typed setting rejects a bad value with ONE line on
# stderr that names the flag and its environment variable, exit status 2 — from the flag and
# from the environment alike. The list of settings comes from each binary's own table
# (--print-config-markdown), so a new setting is covered without touching this test.
# Under the sanitizers (OKS_SANITIZED=1) one setting of each type per binary: what they can
# find is in the parser's error path, the same for every setting of a type, and each launch of
# a sanitized binary costs ~0.15 s of CPU (37 s for all ~250); the plain pass checks them all.
set -u
bin_dir=${OKS_BIN_DIR:?}
fail=0; checked=0
expected="oktasync-ingest oktasync-worker oktasync-scheduler oktasyncctl oktasync-devbroker"
for name in $expected; do
    [ -x "$bin_dir/$name" ] || { echo "FAIL missing binary $bin_dir/$name"; fail=$((fail+1)); }
done

# Builtins only between the launches: forks of tr and grep per setting cost more than the
# binaries themselves (20 s against 5 s for ~250 launches).
bad_value_for() { # type -> a value that type must reject, in $bad
    case "$1" in
        integer) bad="not-a-number" ;; bool) bad="maybe" ;; duration) bad="5 parsecs" ;;
        size) bad="12 bananas" ;; enum) bad="no-such-choice" ;; *) bad="" ;;
    esac
}

for exe in "$bin_dir"/oktasync*; do
    name=$(basename "$exe")
    out=$("$exe" --help 2>&1); rc=$?
    if [ $rc -ne 0 ] || [[ $out != *"Usage: $name"* ]]; then
        echo "FAIL $name --help (rc=$rc)"; fail=$((fail+1)); continue
    fi
    md=$("$exe" --print-config-markdown 2>/dev/null)
    types_seen=" "
    while IFS='|' read -r _ flag env type _rest; do
        flag=${flag//[ \`]/}; env=${env//[ \`]/}; type=${type// /}
        case "$flag" in --*) ;; *) continue ;; esac
        bad_value_for "$type"; [ -n "$bad" ] || continue
        if [ "${OKS_SANITIZED:-0}" = 1 ]; then
            [[ $types_seen == *" $type "* ]] && continue
            types_seen+="$type "
        fi
        for how in flag env; do
            if [ $how = flag ]; then
                err=$("$exe" "$flag=$bad" --check-config 2>&1 >/dev/null); rc=$?
            else
                err=$(env "$env=$bad" "$exe" --check-config 2>&1 >/dev/null); rc=$?
            fi
            # one line: no newline inside the (trailing-newline-stripped) text, and not empty
            if [ $rc -ne 2 ] || [ -z "$err" ] || [[ $err == *$'\n'* ]] ||
                [[ $err != *"$flag ($env)"* ]]; then
                echo "FAIL $name $how $flag=$bad: rc=$rc: $err"; fail=$((fail+1))
            fi
            checked=$((checked+1))
        done
    done <<<"$md"
    # Unknown flags are refused too.
    err=$("$exe" --no-such-setting=1 2>&1 >/dev/null); rc=$?
    if [ $rc -ne 2 ] || [[ $err != *"unknown option --no-such-setting"* ]]; then
        echo "FAIL $name unknown flag: rc=$rc: $err"; fail=$((fail+1))
    fi
    checked=$((checked+1))
done
echo "checked $checked bad values"
[ $checked -gt 20 ] || { echo "FAIL too few settings checked"; fail=$((fail+1)); }
echo "$((checked - fail)) passed, $fail failed"
[ $fail -eq 0 ]
