#!/usr/bin/env python3
"""Idle cost of processes over a window, read from /proc: thread wake-ups per second (the
voluntary and involuntary context switches of every thread, /proc/PID/task/*/status), CPU
share (the ns each thread ran, /proc/PID/task/*/schedstat) and resident memory, sampled every
`--sample` seconds (max and last), with the threads that woke most.

Usage: idle.py WINDOW_SECONDS LABEL=PID [LABEL=PID ...] [--sample SECONDS]
Threads that end inside the window are not counted (none do in an idle process)."""
import os, sys, time

def threads(pid):
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            status = open(f"/proc/{pid}/task/{tid}/status").read()
            ran = int(open(f"/proc/{pid}/task/{tid}/schedstat").read().split()[0])
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        switches = int(fields["voluntary_ctxt_switches"]) + int(fields["nonvoluntary_ctxt_switches"])
        out[tid] = (fields["Name"].strip(), switches, ran)
    return out

def rss_kib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0

def main():
    args = [a for a in sys.argv[1:]]
    sample = 10.0
    if "--sample" in args:
        i = args.index("--sample")
        sample = float(args[i + 1])
        del args[i:i + 2]
    window = float(args[0])
    targets = [(a.split("=", 1)[0], int(a.split("=", 1)[1])) for a in args[1:]]
    start = {pid: threads(pid) for _, pid in targets}
    rss = {pid: [rss_kib(pid)] for _, pid in targets}
    began = time.monotonic()
    while time.monotonic() - began < window:
        time.sleep(min(sample, window - (time.monotonic() - began)))
        for _, pid in targets:
            rss[pid].append(rss_kib(pid))
    elapsed = time.monotonic() - began
    for label, pid in targets:
        end = threads(pid)
        per_thread = []
        for tid, (name, switches, ran) in end.items():
            s0, r0 = (start[pid][tid][1], start[pid][tid][2]) if tid in start[pid] else (0, 0)
            per_thread.append((switches - s0, ran - r0, name, tid))
        wakes = sum(t[0] for t in per_thread) / elapsed
        cpu = 100 * sum(t[1] for t in per_thread) / 1e9 / elapsed
        top = ", ".join(f"{name}:{w / elapsed:.2f}" for w, _, name, _ in sorted(per_thread, reverse=True)[:3] if w)
        print(f"{label}: {wakes:.2f} wake-ups/s, {cpu:.4f}% of a core, RSS {rss[pid][-1] / 1024:.1f} MiB "
              f"(max {max(rss[pid]) / 1024:.1f}, first {rss[pid][0] / 1024:.1f}), {len(end)} threads over {elapsed:.0f} s"
              + (f"; most: {top}" if top else ""))

main()
