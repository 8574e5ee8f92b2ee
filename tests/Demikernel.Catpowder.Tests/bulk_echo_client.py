#!/usr/bin/env python3
"""Linux-side bulk echo client: one TCP connection sends TOTAL pseudo-random bytes while a second thread reads the
echo back; SHA-256 of what was sent and what came back are compared. Prints one summary line; exit 0 only if every
byte came back intact before the deadline.
usage: bulk_echo_client.py HOST PORT TOTAL_BYTES TIMEOUT_SECONDS"""
import hashlib
import random
import socket
import sys
import threading
import time

host, port, total, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
deadline = time.monotonic() + limit
sock = socket.create_connection((host, port), timeout=limit)
sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
sent_hash, recv_hash = hashlib.sha256(), hashlib.sha256()
received = 0
error = None


def reader():
    global received, error
    try:
        while received < total:
            data = sock.recv(1 << 20)
            if not data:
                error = f"connection closed after {received} bytes"
                return
            recv_hash.update(data)
            received += len(data)
    except OSError as e:
        error = f"receive: {e}"


start = time.monotonic()
thread = threading.Thread(target=reader, daemon=True)
thread.start()
rng = random.Random(20240501)
sent = 0
try:
    while sent < total:
        chunk = rng.randbytes(min(256 * 1024, total - sent))
        sock.sendall(chunk)
        sent_hash.update(chunk)
        sent += len(chunk)
except OSError as e:
    error = f"send: {e}"
thread.join(max(0.0, deadline - time.monotonic()))
elapsed = time.monotonic() - start
intact = error is None and received == total and sent_hash.digest() == recv_hash.digest()
print(f"sent={sent} received={received} seconds={elapsed:.2f} MBps={received / max(elapsed, 1e-9) / 1e6:.1f} "
      f"intact={intact} error={error}")
sock.close()
sys.exit(0 if intact else 1)
