#!/usr/bin/env python3
"""A plain Python echo client: N concurrent connections (selectors, non-blocking sockets), each sends a pseudo-random
byte stream in chunks and checks that every echoed byte matches. Prints one summary line; exit 0 only if all is intact."""
import random
import selectors
import socket
import sys
import time

host, port, conns, per_conn = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
deadline = time.monotonic() + float(sys.argv[5] if len(sys.argv) > 5 else 60)
sel = selectors.DefaultSelector()
state = {}
for i in range(conns):
    s = socket.create_connection((host, port))
    s.setblocking(False)
    data = random.Random(i).randbytes(per_conn)
    state[s] = {"data": data, "sent": 0, "recv": bytearray(), "id": i}
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)

done, bad = 0, 0
while done < conns and time.monotonic() < deadline:
    for key, mask in sel.select(timeout=1):
        s, st = key.fileobj, state[key.fileobj]
        if mask & selectors.EVENT_WRITE and st["sent"] < len(st["data"]):
            try:
                st["sent"] += s.send(st["data"][st["sent"]:st["sent"] + 4096])
            except BlockingIOError:
                pass
            if st["sent"] == len(st["data"]):
                sel.modify(s, selectors.EVENT_READ)
        if mask & selectors.EVENT_READ:
            try:
                chunk = s.recv(65536)
            except BlockingIOError:
                continue
            if not chunk:
                bad += 1
                done += 1
                sel.unregister(s)
                continue
            st["recv"] += chunk
            if len(st["recv"]) >= len(st["data"]):
                if bytes(st["recv"]) != st["data"]:
                    bad += 1
                done += 1
                sel.unregister(s)
                s.close()

print(f"connections={conns} done={done} corrupted_or_closed={bad} bytes_each={per_conn}")
sys.exit(0 if done == conns and bad == 0 else 1)
