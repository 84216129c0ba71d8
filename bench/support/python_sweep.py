"""The original's port scanner, as an anchor for bench/probe_bench.ts and bench/collect_bench.ts.

    python3 python_sweep.py RUNS TARGET...      TARGET: tcp4, tcp6, udp4 or udp6

For each target, RUNS sweeps of ports 1-65535 the way the original swept IPv4 TCP: a new socket
per port, bind to the wildcard address, close; any bind error reads "occupied". (The original
stopped at 65534 and did TCP over IPv4 only; the other three targets extend the same loop, so
each of pad's sweeps has an anchor of the same size.) Prints one JSON object: per target the
median wall seconds and mean CPU seconds of a sweep, the ports found occupied and the
process's peak RSS so far (KiB). Timed inside
Python, so the interpreter's start-up is left out.
"""

import json
import os
import resource
import socket
import sys
import time

KINDS = {
    "tcp4": (socket.AF_INET, socket.SOCK_STREAM, "0.0.0.0"),
    "tcp6": (socket.AF_INET6, socket.SOCK_STREAM, "::"),
    "udp4": (socket.AF_INET, socket.SOCK_DGRAM, "0.0.0.0"),
    "udp6": (socket.AF_INET6, socket.SOCK_DGRAM, "::"),
}


def sweep(family: int, kind: int, host: str) -> int:
    occupied = 0
    for port in range(1, 65536):
        s = socket.socket(family, kind)
        try:
            s.bind((host, port))
        except OSError:
            occupied += 1
        s.close()
    return occupied


def main() -> None:
    runs = int(sys.argv[1])
    results = {}
    for target in sys.argv[2:]:
        walls, cpus, occupied = [], [], 0
        for _ in range(runs):
            t, c = time.perf_counter(), os.times()
            occupied = sweep(*KINDS[target])
            d = os.times()
            walls.append(time.perf_counter() - t)
            cpus.append(d.user + d.system - c.user - c.system)
        walls.sort()
        results[target] = {
            "wall": walls[len(walls) // 2],
            "cpu": sum(cpus) / len(cpus),
            "occupied": occupied,
            "rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        }
    print(json.dumps(results))


main()
