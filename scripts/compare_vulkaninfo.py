#!/usr/bin/env python3
"""Checks that `vkmem info --json` reports the heaps, types and limits vulkaninfo reports.

Usage: compare_vulkaninfo.py VKMEM_BINARY
Both tools look at device 0 of the same loader, so they must agree exactly.
"""
import json
import re
import subprocess
import sys

vkmem = sys.argv[1]
ours = json.loads(subprocess.run([vkmem, "info", "--json", "--device", "0"],
                                 check=True, capture_output=True, text=True).stdout)
text = subprocess.run(["vulkaninfo"], check=True, capture_output=True, text=True).stdout
# vulkaninfo prints one block per GPU; the first block is device 0.
gpu0 = text.split("GPU1:")[0]

def limit(name):
    match = re.search(rf"^\s*{name}\s*=\s*(0x[0-9a-fA-F]+|\d+)", gpu0, re.M)
    return int(match.group(1), 0)

section = gpu0[gpu0.index("VkPhysicalDeviceMemoryProperties:"):]
heaps = []
for block in re.split(r"\n\tmemoryHeaps\[\d+\]:", section.split("memoryTypes:")[0])[1:]:
    size = int(re.search(r"size\s*=\s*(\d+)", block).group(1))
    flags = re.findall(r"MEMORY_HEAP_(\w+)_BIT", block)
    heaps.append({"size": size, "flags": flags})
types = []
for block in re.split(r"\n\tmemoryTypes\[\d+\]:", section.split("memoryTypes:")[1])[1:]:
    heap = int(re.search(r"heapIndex\s*=\s*(\d+)", block).group(1))
    flags = re.findall(r"MEMORY_PROPERTY_(\w+?)_BIT(_AMD|_NV)?\b", block)
    types.append({"heapIndex": heap, "flags": [f + s for f, s in flags]})

problems = []
our_heaps = [{"size": h["size"], "flags": h["flags"]} for h in ours["heaps"]]
if our_heaps != heaps:
    problems.append(f"heaps differ: vkmem {our_heaps} vulkaninfo {heaps}")
our_types = [{"heapIndex": t["heapIndex"], "flags": t["flags"]} for t in ours["types"]]
if our_types != types:
    problems.append(f"types differ: vkmem {our_types} vulkaninfo {types}")
for name in ["bufferImageGranularity", "nonCoherentAtomSize", "maxMemoryAllocationCount",
             "minMemoryMapAlignment"]:
    if ours["limits"][name] != limit(name):
        problems.append(f"{name}: vkmem {ours['limits'][name]} vulkaninfo {limit(name)}")
if problems:
    print("vkmem info disagrees with vulkaninfo:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"vkmem info matches vulkaninfo: {len(heaps)} heaps, {len(types)} types, 4 limits")
