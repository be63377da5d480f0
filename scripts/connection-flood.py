#!/usr/bin/env python3
"""Floods a Tollgate server with TCP connections that never speak, and
reports its memory before, at the peak and after the handshake timeout
closed them (issue 14 §4).

    python3 scripts/connection-flood.py [BINARY] [CONNECTIONS] [ROUNDS]

BINARY defaults to target/release/tollgate, CONNECTIONS to 6000, ROUNDS
(floods one after the other, to tell memory kept for reuse from a leak) to 3. The server
runs on the embedded demo bundle with `--handshake-timeout 5s` and the
default `--max-connections` (4096), so part of the flood is refused at once.
Prints VmRSS and open file descriptors at each step, and the server's
connection metrics.
"""

import os
import resource
import socket
import subprocess
import sys
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(pid):
    rss = None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds


def metrics(admin):
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
    return [l for l in text.splitlines() if l.startswith("tollgate_connections_")]


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/tollgate"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 6000
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, count + 1024), hard))
    grpc, admin = free_port(), free_port()
    server = subprocess.Popen(
        [binary, "serve", "--listen", f"127.0.0.1:{grpc}", "--admin-listen", f"127.0.0.1:{admin}",
         "--handshake-timeout", "5s"],
        env={**os.environ, "RUST_LOG": "warn"},
        stdout=subprocess.DEVNULL,
    )
    try:
        time.sleep(3)
        print(f"before   VmRSS {status(server.pid)[0]:>8} kB  fds {status(server.pid)[1]}")
        for round in range(1, rounds + 1):
            socks = []
            for _ in range(count):
                s = socket.socket()
                s.connect(("127.0.0.1", grpc))
                socks.append(s)
            time.sleep(1)
            rss, fds = status(server.pid)
            print(f"round {round} peak     VmRSS {rss:>8} kB  fds {fds}  ({count} silent connections opened)")
            for line in metrics(admin):
                print("   ", line)
            time.sleep(6)
            rss, fds = status(server.pid)
            print(f"round {round} after 7s VmRSS {rss:>8} kB  fds {fds}")
            for s in socks:
                s.close()
        time.sleep(20)
        rss, fds = status(server.pid)
        print(f"20 s after the last round: VmRSS {rss:>8} kB  fds {fds}")
        for line in metrics(admin):
            print("   ", line)
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
