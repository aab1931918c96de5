#!/usr/bin/env python3
"""Medians (low-high) per side of rounds.sh's JSON lines, and per-round ratios to VMA.

Usage: summarize.py FILE...   (or standard input)
Every side other than "vma" is compared with VMA's run of the same round.
"""
import fileinput
import json
import statistics

rows = [json.loads(line) for line in fileinput.input() if line.startswith("{")]
figures = {"W3": ["pair_ns", "allocator_pair_ns", "raw_pair_ns", "committed_bytes", "peak_live_bytes", "pages",
                  "allocate_calls"],
           "W2": ["alloc_ns", "free_ns", "alloc_page_faults", "first_run_alloc_ns"]}
sides = sorted({r["side"] for r in rows}, key=lambda s: (s != "vma", s))


def cell(values):
    return f"{statistics.median(values):g} ({min(values):g}-{max(values):g})" if values else "-"


for workload, keys in figures.items():
    of = {s: [r for r in rows if r["workload"] == workload and r["side"] == s] for s in sides}
    if not any(of.values()):
        continue
    print(workload + ": " + ", ".join(f"{s} {len(of[s])} runs" for s in sides))
    for key in keys:
        parts = [f"{s} {cell([r[key] for r in of[s] if key in r])}" for s in sides]
        for s in sides:
            if s == "vma":
                continue
            ratios = []
            for ours in of[s]:
                theirs = [r[key] for r in of.get("vma", []) if r["round"] == ours["round"] and key in r]
                if key in ours and theirs and theirs[0]:
                    ratios.append(ours[key] / theirs[0])
            if ratios:
                parts.append(f"{s}/vma {statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})")
        print(f"  {key:19} " + "   ".join(parts))
    # vkmem's W3 floor (raw calls placed by its bare engine) has no VMA counterpart: it is
    # compared with VMA's whole pair, the least vkmem's pair could be against it.
    if workload == "W3":
        for s in sides:
            floors = [r for r in of[s] if r.get("floor_pair_ns")]
            ratios = [r["floor_pair_ns"] / theirs[0] for r in floors
                      for theirs in [[v["pair_ns"] for v in of.get("vma", []) if v["round"] == r["round"]]] if theirs]
            if floors:
                print(f"  {'floor_pair_ns':19} {s} {cell([r['floor_pair_ns'] for r in floors])}"
                      + (f"   {s} floor / vma pair {statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f})"
                         if ratios else ""))
