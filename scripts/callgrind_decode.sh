#!/usr/bin/env bash
# Instructions per event of the event layer, for every workload, delivery
# and entry point of examples/profile_decode.rs, for one or more builds of
# that example: callgrind counts do not move with the machine's load.
#
#   cargo build --release --example profile_decode
#   scripts/callgrind_decode.sh target/release/examples/profile_decode [OTHER_BUILD ...]
set -euo pipefail
[ $# -ge 1 ] || { echo "usage: $0 PROFILE_DECODE_BINARY [MORE ...]" >&2; exit 2; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
for w in llm named multi heartbeat; do
    for d in whole mtu tiny; do
        for e in owned chunk; do
            line="$w $d $e"
            for bin in "$@"; do
                log=$(WORKLOAD=$w MIB=1 valgrind --tool=callgrind --callgrind-out-file="$out" \
                    --toggle-collect='profile_decode::decode_*' "$bin" "$d" "$e" 2>&1)
                ir=$(echo "$log" | awk '/Collected/ {print $4}')
                events=$(echo "$log" | grep -oE '[0-9]+ events' | head -n 1 | awk '{print $1}')
                line="$line $((ir / events))"
            done
            echo "$line"
        done
    done
done
