#!/usr/bin/env python3
"""Checks vkmem's progress lines: shown on standard error when it is a terminal, absent
when it is piped or with --json, and standard output the same either way.

Usage: check_progress.py PATH/TO/vkmem

A recording of a few thousand calls is written to a temporary file and replayed twice:
once with standard error on a pseudo-terminal (Python's pty module), once piped. The
replay's one timing line ("time in the allocator") is the only line allowed to differ,
as it does between any two runs.
"""
import os
import re
import subprocess
import sys
import tempfile


def recording(pairs):
    """A VMA 2.x recording (format 1,8): `pairs` buffers created and destroyed."""
    lines = ["Vulkan Memory Allocator,Calls recording", "1,8", "Config,Begin",
             "PhysicalDevice,deviceName,Progress check", "Config,End", "1,0.000,0,vmaCreateAllocator"]
    for index in range(pairs):
        handle = "%016X" % (0x1000 + index)
        time = index / 1000
        lines.append("1,%.3f,0,vmaCreateBuffer,0,%d,128,0,32,1,0,0,0,0000000000000000,%s,buffer %d"
                     % (time, 4096 * (1 + index % 8), handle, index))
        lines.append("1,%.3f,0,vmaDestroyBuffer,%s" % (time + 0.0005, handle))
    lines.append("1,%.3f,0,vmaDestroyAllocator" % (pairs / 1000 + 1))
    return "\n".join(lines) + "\n"


def run_on_terminal(command):
    """Runs `command` with standard error on a pseudo-terminal; returns (rc, stdout, stderr)."""
    master, slave = os.openpty()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not chunk:
            break
        chunks.append(chunk)
    stdout = process.stdout.read()
    rc = process.wait()
    os.close(master)
    return rc, stdout, b"".join(chunks)


def run_piped(command):
    result = subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL)
    return result.returncode, result.stdout, result.stderr


def without_timing(stdout):
    return re.sub(rb"time in the allocator: [0-9.]+", b"time in the allocator: T", stdout)


def main():
    vkmem = sys.argv[1]
    failures = []
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "progress.csv")
        with open(path, "w") as file:
            file.write(recording(3000))

        rc_tty, out_tty, err_tty = run_on_terminal([vkmem, "replay", path])
        rc_pipe, out_pipe, err_pipe = run_piped([vkmem, "replay", path])
        if rc_tty != 0 or rc_pipe != 0:
            failures.append("vkmem replay exited %d (terminal) and %d (piped)" % (rc_tty, rc_pipe))
        if without_timing(out_tty) != without_timing(out_pipe):
            failures.append("vkmem replay: standard output differs with a terminal on standard error")
        if not re.search(rb"replay .*progress\.csv: \d+% \(\d+/\d+\) lines", err_tty) \
                or b"progress.csv: done in" not in err_tty:
            failures.append("vkmem replay: no progress lines on the terminal: %r" % err_tty[:300])
        if err_pipe:
            failures.append("vkmem replay: standard error not empty when piped: %r" % err_pipe[:300])

        rc_json, out_json, err_json = run_on_terminal([vkmem, "replay", "--json", path])
        if rc_json != 0 or not out_json.startswith(b"{"):
            failures.append("vkmem replay --json exited %d" % rc_json)
        if err_json:
            failures.append("vkmem replay --json: progress shown on the terminal: %r" % err_json[:300])

        rc_check, out_check, err_check = run_on_terminal([vkmem, "check"])
        if rc_check != 0 or b"all checks passed" not in out_check:
            failures.append("vkmem check exited %d" % rc_check)
        if b"running: defragmentation" not in err_check or b"check: done in" not in err_check:
            failures.append("vkmem check: no progress naming the defragmentation check: %r" % err_check[:300])

        # bench virtual: progress names the workload on a terminal; piped, standard error is
        # empty and standard output has the same lines (its figures are timings and differ).
        bench = [vkmem, "bench", "virtual", "--runs", "1", "--workload", "W4"]
        rc_tty, out_tty, err_tty = run_on_terminal(bench)
        rc_pipe, out_pipe, err_pipe = run_piped(bench)
        if rc_tty != 0 or rc_pipe != 0:
            failures.append("vkmem bench virtual exited %d (terminal) and %d (piped)" % (rc_tty, rc_pipe))
        if b"running W4" not in err_tty or b"bench virtual: done in" not in err_tty:
            failures.append("vkmem bench virtual: no progress on the terminal: %r" % err_tty[:300])
        if err_pipe:
            failures.append("vkmem bench virtual: standard error not empty when piped: %r" % err_pipe[:300])
        tty_lines, pipe_lines = out_tty.splitlines(), out_pipe.splitlines()
        if len(tty_lines) != len(pipe_lines) or tty_lines[:1] != pipe_lines[:1] \
                or [l.split()[:1] for l in tty_lines] != [l.split()[:1] for l in pipe_lines]:
            failures.append("vkmem bench virtual: standard output differs in shape with a terminal on standard error")

    for failure in failures:
        print("check_progress: " + failure)
    if failures:
        return 1
    print("check_progress: progress shown on a terminal (replay, check, bench virtual), absent piped and with --json; "
          "standard output unchanged")
    return 0


if __name__ == "__main__":
    sys.exit(main())
