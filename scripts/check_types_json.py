#!/usr/bin/env python3
"""Checks the shape of `vkmem types --profiles FILE --json` over every profiled device.

Usage: check_types_json.py VKMEM_BINARY PROFILES_JSON
The ranking rules themselves are tested in Swift (MemoryTypeSelectionTests); this checks
that the command exposes them as the issue specified.
"""
import json
import subprocess
import sys

vkmem, profiles = sys.argv[1], sys.argv[2]
devices = json.load(open(profiles))
out = json.loads(subprocess.run([vkmem, "types", "--profiles", profiles, "--json"],
                                check=True, capture_output=True, text=True).stdout)
problems = []
if [entry["device"] for entry in out] != [d["name"] for d in devices]:
    problems.append("devices differ from the profile file's")
for entry, device in zip(out, devices):
    usages = entry["usages"]
    if sorted(usages) != ["dynamic", "gpuOnly", "readback", "staging", "transientAttachment"]:
        problems.append(f"{entry['device']}: usages {sorted(usages)}")
    for usage, ranked in usages.items():
        count = len(device["memoryTypes"])
        lazy = [t for t, memory_type in enumerate(device["memoryTypes"]) if "LAZILY_ALLOCATED" in memory_type["propertyFlags"]]
        if usage == "transientAttachment" and lazy and (not ranked or ranked[0] not in lazy):
            problems.append(f"{entry['device']} transientAttachment: {ranked} does not start with a lazily allocated type ({lazy})")
        if not ranked or len(set(ranked)) != len(ranked) or not all(0 <= t < count for t in ranked):
            problems.append(f"{entry['device']} {usage}: ranking {ranked}")
        if usage not in ("gpuOnly", "transientAttachment") and not all("HOST_VISIBLE" in device["memoryTypes"][t]["propertyFlags"] for t in ranked):
            problems.append(f"{entry['device']} {usage}: a type that is not host-visible in {ranked}")
if problems:
    print("vkmem types --json:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"vkmem types --json: {len(out)} devices, 5 intents each, rankings well-formed")
