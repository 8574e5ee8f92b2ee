#!/usr/bin/env python3
"""Regenerates the seed corpora in corpus/ (committed; run again only to refresh them). Needs root (a raw socket
on lo captures real frames), redis-server and redis-cli 7.0 on PATH. Every seed is a small real input:
requests and replies as redis-server 7.0 sends and takes them, DUMP payloads and an RDB and AOF files written by
redis-server, frames captured on the loopback interface while a TCP, UDP and ICMP exchange run."""
import os, shutil, socket, struct, subprocess, sys, tempfile, time

here = os.path.dirname(os.path.abspath(__file__))
corpus = os.path.join(here, "corpus")


def put(target, name, data):
    d = os.path.join(corpus, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def resp(*args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a if isinstance(a, bytes) else a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    return out


class Redis:
    """A redis-server 7.0 on a free port in a temporary directory, spoken to over a raw socket."""

    def __init__(self, *options):
        self.dir = tempfile.mkdtemp(prefix="fuzzseeds")
        s = socket.socket(); s.bind(("127.0.0.1", 0)); self.port = s.getsockname()[1]; s.close()
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--dir", self.dir, "--save", "",
                                      "--appendonly", "no", *options], stdout=subprocess.DEVNULL)
        for _ in range(100):
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port)); break
            except OSError:
                time.sleep(0.05)

    def raw(self, request, settle=0.05):
        self.sock.sendall(request)
        time.sleep(settle)
        self.sock.settimeout(0.5)
        data = b""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk: break
                data += chunk
                if len(chunk) < 65536: break
        except socket.timeout:
            pass
        return data

    def cmd(self, *args):
        return self.raw(resp(*args))

    def stop(self):
        self.proc.terminate(); self.proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def populate(r):
    r.cmd("SET", "str", "hello"); r.cmd("SET", "int", "12345"); r.cmd("SET", "lzf", "a" * 300 + "b" * 300)
    r.cmd("RPUSH", "list", "a", "1", "-70000", "x" * 70)
    r.cmd("RPUSH", "biglist", *[("e%d" % i) * 20 for i in range(200)])
    r.cmd("SADD", "intset", "1", "-5", "70000", "4294967296")
    r.cmd("SADD", "set", "a", "b", "c")
    r.cmd("ZADD", "zset", "1", "a", "2.5", "b", "-inf", "c")
    r.cmd("ZADD", "bigzset", *sum([[str(i), "m%d" % i + "x" * 70] for i in range(130)], []))
    r.cmd("HSET", "hash", "f", "v", "n", "7")
    r.cmd("HSET", "bighash", *sum([["f%d" % i, "v" * 70] for i in range(130)], []))
    r.cmd("XADD", "stream", "1-1", "a", "1", "b", "2"); r.cmd("XADD", "stream", "1-2", "a", "3", "b", "4")
    r.cmd("XADD", "stream", "2-1", "other", "x"); r.cmd("XDEL", "stream", "1-2")
    r.cmd("XGROUP", "CREATE", "stream", "g", "0"); r.cmd("XREADGROUP", "GROUP", "g", "alice", "COUNT", "1", "STREAMS", "stream", ">")
    r.cmd("PFADD", "hll", "a", "b", "c")
    r.cmd("SET", "ttl", "v", "PX", "100000000")


def bulk(reply):
    head, _, rest = reply.partition(b"\r\n")
    n = int(head[1:])
    return rest[:n]


def redis_seeds():
    r = Redis()
    try:
        populate(r)
        for key in ["str", "int", "lzf", "list", "biglist", "intset", "set", "zset", "bigzset", "hash", "bighash", "stream", "hll"]:
            payload = bulk(r.cmd("DUMP", key))
            put("restore", key, payload[:-10])  # the harness appends version and CRC itself
        # requests (first byte: the fragment size the harness uses) and replies
        requests = [resp("SET", "k", "v"), resp("GET", "k"), b"PING\r\n", b"set \"a b\" 'c\\x41'\r\n",
                    resp("HELLO", "3") + resp("PING"), b"*1\r\n$4\r\nPING\r\n*0\r\n\r\n", b"*-1\r\n*2\r\n$3\r\nGET\r\n$-1\r\n",
                    resp("MSET", *["k%d" % i for i in range(20)])]
        for i, req in enumerate(requests):
            put("resp-request", "req%d" % i, bytes([i]) + req)
        r.cmd("HELLO", "3")
        for i, req in enumerate([resp("GET", "str"), resp("HGETALL", "hash"), resp("SMEMBERS", "set"),
                                 resp("ZRANGE", "zset", "0", "-1", "WITHSCORES"), resp("XINFO", "STREAM", "stream"),
                                 resp("GET", "nokey"), resp("INCR", "str"), resp("CLIENT", "INFO"),
                                 resp("COMMAND", "INFO", "get"), resp("EXISTS", "str"), resp("CONFIG", "GET", "port"),
                                 resp("XREADGROUP", "GROUP", "g", "bob", "STREAMS", "stream", "0")]):
            put("resp-frame", "reply%d" % i, r.raw(req))
        put("resp-frame", "resp3-misc", b"#t\r\n,3.14\r\n(12345678901234567890\r\n_\r\n!3\r\nerr\r\n=7\r\ntxt:abc\r\n>2\r\n+a\r\n:1\r\n|1\r\n+k\r\n+v\r\n+x\r\n")
        r.cmd("SAVE")
        with open(os.path.join(r.dir, "dump.rdb"), "rb") as f:
            put("rdb", "redis-7.0", f.read())
    finally:
        r.stop()
    for preamble in ("yes", "no"):
        r = Redis("--appendonly", "yes", "--aof-use-rdb-preamble", preamble, "--aof-timestamp-enabled", "yes")
        try:
            r.cmd("SET", "a", "1"); time.sleep(0.3)
            r.cmd("BGREWRITEAOF"); time.sleep(1.0)
            populate(r); r.raw(resp("MULTI") + resp("INCR", "a") + resp("EXPIRE", "a", "1000") + resp("EXEC"))
            time.sleep(1.2)
            d = os.path.join(r.dir, "appendonlydir")
            names = sorted(os.listdir(d))
            blobs = {n: open(os.path.join(d, n), "rb").read() for n in names}
            manifest = [n for n in names if n.endswith(".manifest")][0]
            put("aof-manifest", "preamble-" + preamble, blobs[manifest])
            base = [n for n in names if ".base." in n][0]
            incr = [n for n in names if ".incr." in n][-1]
            put("aof", "base-preamble-" + preamble, blobs[base])
            put("aof", "incr-preamble-" + preamble, blobs[incr])
            if preamble == "yes": put("aof", "base-and-incr", blobs[base] + blobs[incr])
        finally:
            r.stop()
    put("aof-manifest", "history", b"file appendonly.aof.1.base.rdb seq 1 type b\nfile appendonly.aof.1.incr.aof seq 1 type h\n"
                                    b"file \"appendonly .aof.2.incr.aof\" seq 2 type i\n")


def hll_seeds():
    r = Redis()
    try:
        r.cmd("PFADD", "sparse", "a", "b", "c")
        r.cmd("PFADD", "dense", *["e%d" % i for i in range(3000)])
        r.cmd("PFADD", "empty")
        for key in ["sparse", "dense", "empty"]:
            put("hll", key, bulk(r.cmd("GET", key)))
    finally:
        r.stop()


def config_seeds():  # YAML and redis.conf
    root = os.path.join(here, "..", "..", "configs")
    for name in sorted(os.listdir(root)):
        if name.endswith(".yaml"):
            put("config-yaml", name, open(os.path.join(root, name), "rb").read())
    put("config-yaml", "anchors.yaml", b"base: &b\n  port: 1\n  list: [a, b]\nserver:\n  <<: *b\n  hz: 10\n  bind: '127.0.0.1'\n")
    # redis.conf: Debian's (every directive, mostly commented out) and one with quoting, multi-word, user and tls lines
    if os.path.exists("/etc/redis/redis.conf"):
        put("redis-conf", "debian-redis.conf", open("/etc/redis/redis.conf", "rb").read())
    put("redis-conf", "quoting.conf",
        b"# comment\nport 7000\nbind 127.0.0.1 -::1\nsave 900 1\nsave \"\"\nrequirepass \"p\\x41ss \\\"q\\\"\"\n"
        b"user alice on '>secret' ~app:* +@read\nmaxmemory 50mb\nmaxmemory-policy allkeys-lru\n"
        b"client-output-buffer-limit normal 0 0 0 pubsub 32mb 8mb 60\ninclude /nonexistent/*.conf\n"
        b"tls-port 6380\ntls-cert-file /tmp/server.crt\ntls-auth-clients optional\ntls-protocols \"TLSv1.2 TLSv1.3\"\n"
        b"notify-keyspace-events KEA\n")
    put("redis-conf", "unbalanced.conf", b"port 7000\nrequirepass \"unbalanced\n")


def checksum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def wire_seeds():
    """Frames captured on lo while a TCP exchange (redis-cli PING), a UDP datagram and an ICMP echo run."""
    cap = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    cap.bind(("lo", 0)); cap.settimeout(0.2)
    r = Redis()
    try:
        subprocess.run(["redis-cli", "-p", str(r.port), "PING"], stdout=subprocess.DEVNULL)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.sendto(b"hello udp", ("127.0.0.1", 9)); u.close()
        icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        body = struct.pack("!BBHHH", 8, 0, 0, 0x1234, 1) + b"ping data"
        body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
        icmp.sendto(body, ("127.0.0.1", 0)); icmp.close()
        # lo is shared with whatever else runs here: keep only this exchange's frames (redis port, UDP 9, ICMP)
        counts = {}
        end = time.time() + 10
        while time.time() < end and (counts.get("tcp", 0) < 6 or "udp" not in counts or counts.get("icmp", 0) < 2):
            try:
                f = cap.recv(65536)
            except socket.timeout:
                continue
            if len(f) < 34 or f[12:14] != b"\x08\x00": continue
            ihl = (f[14] & 0xF) * 4
            layer = {6: "tcp", 17: "udp", 1: "icmp"}.get(f[23])
            l4 = f[14 + ihl:]
            if layer is None or len(l4) < 4: continue
            ports = struct.unpack("!HH", l4[:4])
            if layer == "tcp" and r.port not in ports or layer == "udp" and ports[1] != 9: continue
            n = counts.get(layer, 0)
            if n >= 6: continue
            counts[layer] = n + 1
            put("ethernet", "%s%d" % (layer, n), f)
            put("ipv4", "%s%d" % (layer, n), f[14:])
            put(layer, "%d" % n, l4)
    finally:
        r.stop(); cap.close()
    # lo carries no ARP: a request and a reply as Linux sends them on Ethernet
    mac1, mac2 = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")
    ip1, ip2 = socket.inet_aton("10.0.0.1"), socket.inet_aton("10.0.0.2")
    request = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + mac1 + ip1 + b"\0" * 6 + ip2
    reply = struct.pack("!HHBBH", 1, 0x0800, 6, 4, 2) + mac2 + ip2 + mac1 + ip1
    put("arp", "request", request); put("arp", "reply", reply)
    put("ethernet", "arp", b"\xff" * 6 + mac1 + b"\x08\x06" + request + b"\0" * 18)
    # a TCP SYN with every option this stack parses (MSS, SACK-permitted, timestamps, NOP, window scale) and a SACK
    syn = struct.pack("!HHIIBBHHH", 40000, 6379, 1, 0, 0xA0, 0x02, 65535, 0, 0) + \
        bytes([2, 4, 0x05, 0xB4, 4, 2, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0, 1, 3, 3, 7])
    put("tcp", "syn-options", syn)
    sack = struct.pack("!HHIIBBHHH", 40000, 6379, 100, 200, 0x80, 0x10, 512, 0, 0) + \
        bytes([1, 1, 5, 10]) + struct.pack("!II", 300, 400) + bytes([0, 0]) + b"payload"
    put("tcp", "ack-sack", sack)


if __name__ == "__main__":
    shutil.rmtree(corpus, ignore_errors=True)
    redis_seeds()
    hll_seeds()
    config_seeds()
    wire_seeds()
    for t in sorted(os.listdir(corpus)):
        files = os.listdir(os.path.join(corpus, t))
        print("%-14s %3d seeds, %6d bytes" % (t, len(files), sum(os.path.getsize(os.path.join(corpus, t, f)) for f in files)))
