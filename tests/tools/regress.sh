#!/bin/sh
# regress.sh — golden-output regression scenarios.
#
#   sh tests/tools/regress.sh NETSIM [--update] [NAME...]
#
# Each folder tests/regress/NAME/ holds `args` (the netsim command line after
# the binary, one line, e.g. "--seed 7 scenarios/demo.lua") and expected/,
# the golden outputs.  The scenario runs from the top of the tree into
# build/regress-out/NAME (a fixed relative path, because run.json records
# the command that replays the run); every file
# must equal its golden byte for byte, and the sets of files must match.
# On a difference it prints a unified diff of the first differing lines.
# --update rewrites expected/ instead (commit it with a reason!).
set -u
bin=$1
shift
update=0
if [ "${1:-}" = "--update" ]; then
    update=1
    shift
fi
names="$*"
[ -z "$names" ] && names=$(ls tests/regress)

passed=0
failed=0
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
mkdir -p build/regress-out

for name in $names; do
    dir=tests/regress/$name
    [ -f "$dir/args" ] || continue
    out=build/regress-out/$name
    rm -rf "$out"
    # shellcheck disable=SC2046
    if ! "$bin" --quiet --out "$out" $(cat "$dir/args") >"$scratch/$name.log" 2>&1; then
        echo "FAIL $name: netsim exited non-zero:"
        sed 's/^/  /' "$scratch/$name.log"
        failed=$((failed + 1))
        continue
    fi
    if [ $update -eq 1 ]; then
        rm -rf "$dir/expected"
        cp -r "$out" "$dir/expected"
        echo "updated $name"
        passed=$((passed + 1))
        continue
    fi
    ok=1
    got_list=$(cd "$out" && find . -type f | sort)
    want_list=$(cd "$dir/expected" && find . -type f | sort)
    if [ "$got_list" != "$want_list" ]; then
        echo "FAIL $name: the set of output files differs:"
        printf '%s\n' "$want_list" >"$scratch/want.lst"
        printf '%s\n' "$got_list" >"$scratch/got.lst"
        diff -u "$scratch/want.lst" "$scratch/got.lst" | sed 's/^/  /'
        ok=0
    fi
    for f in $want_list; do
        [ -f "$out/$f" ] || continue
        if ! cmp -s "$dir/expected/$f" "$out/$f"; then
            echo "FAIL $name: $f differs from its golden (first differences):"
            diff -u "$dir/expected/$f" "$out/$f" | head -n 20 | sed 's/^/  /'
            ok=0
        fi
    done
    if [ $ok -eq 1 ]; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
    fi
done
echo "regress: $passed passed, $failed failed"
[ $failed -eq 0 ]
