#!/bin/sh
# check.sh — runs every test tier and ends with one line "check: N passed,
# N failed" (what CI reads).  Called by `make check` (full) and
# `make check-quick` (quick).
#
#   full:  unit suites (quick + long), regression scenarios, then the unit
#          suites and the regression scenarios again under ASan+UBSan
#   quick: quick unit suites and regression scenarios
set -u
mode=${1:-full}
passed=0
failed=0
status=0

# Adds the counts from a line "WORD: N passed, N failed" in file $1.
tally() {
    line=$(grep -E '^[a-z-]+: [0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
    if [ -z "$line" ]; then
        echo "check: $2 printed no summary (crashed?)" >&2
        failed=$((failed + 1))
        return
    fi
    p=$(echo "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
    f=$(echo "$line" | sed -E 's/.* ([0-9]+) failed.*/\1/')
    passed=$((passed + p))
    failed=$((failed + f))
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT

step() {   # step NAME COMMAND...
    name=$1
    shift
    echo "== $name"
    "$@" >"$log" 2>&1
    rc=$?
    # Show failures in full, successes as their summary line only.
    if [ $rc -ne 0 ]; then
        cat "$log"
        status=1
    else
        grep -E '^[a-z-]+: [0-9]+ passed' "$log" | tail -n 1
    fi
    before=$failed
    tally "$log" "$name"
    # A run that failed without a failed test (a sanitizer report, a crash
    # after the summary) still counts as one failure.
    if [ $rc -ne 0 ] && [ $failed -eq $before ]; then
        echo "check: $name exited $rc with no failed test: counted as one failure" >&2
        failed=$((failed + 1))
    fi
}

if [ "$mode" = quick ]; then
    step "unit (quick)" build/unit --quick
    step "regression" sh tests/tools/regress.sh build/netsim
else
    step "unit" build/unit
    step "regression" sh tests/tools/regress.sh build/netsim
    echo "== building with AddressSanitizer+UBSan (build-asan/)"
    if make --no-print-directory asan >"$log" 2>&1; then
        export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
        export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
        step "unit under ASan" env NETSIM_BIN=build-asan/netsim build-asan/unit
        step "regression under ASan" sh tests/tools/regress.sh build-asan/netsim
    else
        cat "$log"
        echo "check: the ASan build failed" >&2
        failed=$((failed + 1))
    fi
fi

[ $failed -gt 0 ] && status=1
echo "check: $passed passed, $failed failed"
exit $status
