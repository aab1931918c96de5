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
# CAPABILITIES opens both sides' devices alike for W3, since some drivers charge every
# buffer for a capability the device has on (NVIDIA: VK_EXT_memory_priority):
#   none (the default): no capability on either side;
#   bufferDeviceAddress: buffer device address on both (VMA with its flag);
#   library: vkmem with the library's default capabilities, VMA with none (unlike devices,
#     as rounds before 2026-12-06 ran).
set -euo pipefail
rounds=$1 cpu=$2 vma=$3
shift 3
sides=(vma "$@")
pin=()
[ "$cpu" != "-" ] && pin=(taskset -c "$cpu")
capabilities=${CAPABILITIES:-none}
case $capabilities in
  none) vkmem_caps=(--capabilities none) vma_caps=() ;;
  bufferDeviceAddress) vkmem_caps=(--capabilities bufferDeviceAddress) vma_caps=(--buffer-device-address 1) ;;
  library) vkmem_caps=() vma_caps=()
    echo "rounds.sh: CAPABILITIES=library opens vkmem's device with more than VMA's" >&2 ;;
  *) echo "rounds.sh: CAPABILITIES must be none, bufferDeviceAddress or library, not $capabilities" >&2; exit 2 ;;
esac
tag() { sed "s/^{/{\"side\": \"$1\", \"round\": $2, \"capabilities\": \"$capabilities\", /"; }
run() { # side workload round
  local side=$1 workload=$2 round=$3
  if [ "$side" = vma ]; then
    if [ "$workload" = W3 ]; then "${pin[@]}" "$vma" resources --runs 1 "${vma_caps[@]}"
    else "${pin[@]}" "$vma" virtual --workload W2 --runs 5; fi | tag vma "$round"
  else
    local name=${side%%=*} path=${side#*=}
    if [ "$workload" = W3 ]; then
      # shellcheck disable=SC2086
      "${pin[@]}" "$path" bench resources --runs 1 --no-latency --json "${vkmem_caps[@]}" ${VKMEM_W3_ARGS:-}
    else "${pin[@]}" "$path" bench virtual --workload W2 --runs 5 --no-latency --json; fi | tail -1 | tag "$name" "$round"
  fi
}
n=${#sides[@]}
for ((round = 1; round <= rounds; round++)); do
  for workload in W3 W2; do
    for ((k = 0; k < n; k++)); do run "${sides[$(((round + k) % n))]}" $workload $round; done
  done
done
