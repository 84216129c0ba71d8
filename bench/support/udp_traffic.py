"""UDP traffic on loopback for the bench scripts; only to 127.0.0.1 and ::1.

    python3 udp_traffic.py paced RATE [PORT]
                                         RATE datagrams/s in all, alternating 127.0.0.1 and ::1,
                                         each socket sending to itself (bound to PORT when given,
                                         so a capture filter can select this traffic alone),
                                         until SIGTERM
    python3 udp_traffic.py burst PORT N  N 32-byte datagrams to 127.0.0.1:PORT, as fast as it can

Either mode prints the number of datagrams it sent.
"""

import signal
import socket
import sys
import time


class Stop(Exception):
    pass


def paced(rate: float, port: int) -> int:
    sockets = []
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        s = socket.socket(family, socket.SOCK_DGRAM)
        s.bind((host, port))
        s.setblocking(False)
        sockets.append(s)
    sent = 0
    start = time.monotonic()
    try:
        while True:
            s = sockets[sent % len(sockets)]
            s.sendto(b"pad collect bench %d" % sent, s.getsockname())
            sent += 1
            try:
                while True:
                    s.recv(2048)
            except BlockingIOError:
                pass
            delay = start + sent / rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
    except Stop:
        return sent


def burst(port: int, count: int) -> int:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect(("127.0.0.1", port))
    payload = b"x" * 32
    for _ in range(count):
        s.send(payload)
    return count


def main() -> None:
    def stop(*_):
        raise Stop()

    signal.signal(signal.SIGTERM, stop)
    mode = sys.argv[1]
    if mode == "paced":
        port = int(sys.argv[3]) if len(sys.argv) > 3 else 0
        print(paced(float(sys.argv[2]), port), flush=True)
    elif mode == "burst":
        print(burst(int(sys.argv[2]), int(sys.argv[3])), flush=True)
    else:
        sys.exit(f"unknown mode {mode!r}: use paced or burst")


main()
