#!/usr/bin/env bash
# Alternating rounds of VMA and one or more vkmem builds on the same workloads, one JSON
# line per program run.
# Usage: rounds.sh ROUNDS CPU VMA_SIDE_BY_SIDE NAME=VKMEM [NAME=VKMEM ...]
#   CPU: the core every run is pinned to (taskset), or - for none.
#   NAME=VKMEM: a vkmem build and the name its lines carry (for example vkmem=.build/release/vkmem).
# Each round runs W3 on every side, then W2 on every side, in an order that rotates from
# round to round, so no side always runs first. Lines go to standard output, tagged with
# "side" ("vma" or NAME) and "round"; summarize.py reads them.
# VKMEM_W3_ARGS adds arguments to vkmem's W3 runs (for example --page-mib 256).
set -euo pipefail
rounds=$1 cpu=$2 vma=$3
shift 3
sides=(vma "$@")
pin=()
[ "$cpu" != "-" ] && pin=(taskset -c "$cpu")
tag() { sed "s/^{/{\"side\": \"$1\", \"round\": $2, /"; }
run() { # side workload round
  local side=$1 workload=$2 round=$3
  if [ "$side" = vma ]; then
    if [ "$workload" = W3 ]; then "${pin[@]}" "$vma" resources --runs 1
    else "${pin[@]}" "$vma" virtual --workload W2 --runs 5; fi | tag vma "$round"
  else
    local name=${side%%=*} path=${side#*=}
    if [ "$workload" = W3 ]; then
      # shellcheck disable=SC2086
      "${pin[@]}" "$path" bench resources --runs 1 --no-latency --json ${VKMEM_W3_ARGS:-}
    else "${pin[@]}" "$path" bench virtual --workload W2 --runs 5 --no-latency --json; fi | tail -1 | tag "$name" "$round"
  fi
}
n=${#sides[@]}
for ((round = 1; round <= rounds; round++)); do
  for workload in W3 W2; do
    for ((k = 0; k < n; k++)); do run "${sides[$(((round + k) % n))]}" $workload $round; done
  done
done
