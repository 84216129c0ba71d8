"""A UDP flood on loopback for bench/capture_bench.ts; only to 127.0.0.1 or ::1.

    python3 flood.py HOST PORT SECONDS [RATE]

Sends 32-byte datagrams to HOST:PORT (HOST must be 127.0.0.1 or ::1) for SECONDS, as fast as
one core allows, or at about RATE datagrams/s when RATE is given, then prints a JSON object: the
datagrams sent and the seconds from the first to the last.
Datagrams go out in batches through libc's sendmmsg (ctypes), so one Python process sends at
close to the kernel's own rate instead of the interpreter's: a plain `socket.send` loop tops out
near 150,000/s, too little to load a capture.
"""

import ctypes
import ctypes.util
import json
import socket
import sys
import time

BATCH = 256
PAYLOAD = b"x" * 32


class Iovec(ctypes.Structure):
    _fields_ = [("iov_base", ctypes.c_void_p), ("iov_len", ctypes.c_size_t)]


class Msghdr(ctypes.Structure):
    _fields_ = [
        ("msg_name", ctypes.c_void_p),
        ("msg_namelen", ctypes.c_uint32),
        ("msg_iov", ctypes.POINTER(Iovec)),
        ("msg_iovlen", ctypes.c_size_t),
        ("msg_control", ctypes.c_void_p),
        ("msg_controllen", ctypes.c_size_t),
        ("msg_flags", ctypes.c_int),
    ]


class Mmsghdr(ctypes.Structure):
    _fields_ = [("msg_hdr", Msghdr), ("msg_len", ctypes.c_uint)]


def main() -> None:
    host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    rate = float(sys.argv[4]) if len(sys.argv) > 4 else 0.0
    if host not in ("127.0.0.1", "::1"):
        sys.exit(f"flood.py sends to 127.0.0.1 or ::1 only, not {host!r}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    sock.connect((host, port))  # connected: each message needs no address
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    buffer = ctypes.create_string_buffer(PAYLOAD, len(PAYLOAD))
    iov = Iovec(ctypes.cast(buffer, ctypes.c_void_p), len(PAYLOAD))
    messages = (Mmsghdr * BATCH)()
    for m in messages:
        m.msg_hdr.msg_iov = ctypes.pointer(iov)
        m.msg_hdr.msg_iovlen = 1
    fd = sock.fileno()
    sent = 0
    start = time.monotonic()
    end = start + seconds
    while True:
        now = time.monotonic()
        if now >= end:
            break
        if rate > 0:
            ahead = start + sent / rate - now
            if ahead > 0:
                time.sleep(min(ahead, end - now))
                continue
        n = libc.sendmmsg(fd, messages, BATCH, 0)
        if n < 0:
            errno = ctypes.get_errno()
            # ECONNREFUSED: an ICMP error from an earlier datagram (no sink); ENOBUFS: back off.
            if errno in (111, 105):
                continue
            sys.exit(f"sendmmsg failed: {errno}")
        sent += n
    print(json.dumps({"sent": sent, "seconds": time.monotonic() - start}), flush=True)


main()
