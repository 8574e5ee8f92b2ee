#!/usr/bin/env python3
"""Linux-side echo server for the tests in which our stack is the client: echoes every byte on every connection.
Prints "listening" once it accepts; exits after LIFETIME seconds at the latest.
usage: echo_server.py ADDRESS PORT LIFETIME_SECONDS"""
import socket
import sys
import threading

address, port, lifetime = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])


def serve(conn):
    with conn:
        while True:
            data = conn.recv(1 << 20)
            if not data:
                return
            conn.sendall(data)


listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind((address, port))
listener.listen(512)
threading.Timer(lifetime, lambda: __import__("os")._exit(0)).start()
print("listening", flush=True)
while True:
    conn, _ = listener.accept()
    threading.Thread(target=serve, args=(conn,), daemon=True).start()
