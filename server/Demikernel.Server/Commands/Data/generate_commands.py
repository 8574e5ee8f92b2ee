#!/usr/bin/env python3
"""Generates commands.json, the command table's metadata, from redis-server 7.0.15 itself.

Usage: generate_commands.py PORT JSON_DIR > commands.json
  PORT      a running redis-server 7.0.15 (its COMMAND INFO and COMMAND DOCS answers, read in RESP3, are the source)
  JSON_DIR  redis 7.0.15's src/commands/*.json, for the flags COMMAND INFO hides (may_replicate, sentinel,
            only_sentinel, protected)

Every command of redis-server 7.0 is written, subcommands nested; the server applies the entries of the commands it
implements. Sorted by name, so a regeneration diffs cleanly (redis-server's own order is a hash order).
"""
import glob, json, socket, sys

def connect(port):
    s = socket.create_connection(("127.0.0.1", port))
    return s.makefile("rwb")

def send(f, *args):
    out = b"*%d\r\n" % len(args)
    for a in args:
        a = a.encode()
        out += b"$%d\r\n%s\r\n" % (len(a), a)
    f.write(out); f.flush()

def read(f):
    line = f.readline()[:-2]
    t, rest = chr(line[0]), line[1:]
    if t in "+": return rest.decode()
    if t == "-": raise RuntimeError(rest.decode())
    if t == ":": return int(rest)
    if t in "$=":
        n = int(rest)
        if n < 0: return None
        data = f.read(n + 2)[:-2]
        return data.decode()[4:] if t == "=" else data.decode()
    if t == "_": return None
    if t in "*~>":
        return [read(f) for _ in range(int(rest))]
    if t == "%":
        n = int(rest); d = {}
        for _ in range(n):
            k = read(f); d[k] = read(f)
        return d
    raise RuntimeError("unexpected " + t)

HIDDEN = {"MAY_REPLICATE": "may_replicate", "SENTINEL": "sentinel", "ONLY_SENTINEL": "only_sentinel", "PROTECTED": "protected"}

def hidden_flags(json_dir):
    out = {}
    for path in glob.glob(json_dir + "/*.json"):
        for name, c in json.load(open(path)).items():
            full = (c["container"] + "|" + name if "container" in c else name).lower()
            out[full] = [HIDDEN[f] for f in c.get("command_flags", []) if f in HIDDEN]
    return out

def key_spec(ks):
    out = {}
    if "notes" in ks: out["notes"] = ks["notes"]
    out["flags"] = ks["flags"]
    bs, fk = ks["begin_search"], ks["find_keys"]
    out["begin_search"] = dict(type=bs["type"], **bs["spec"])
    out["find_keys"] = dict(type=fk["type"], **fk["spec"])
    return out

def command(info, docs, hidden):
    name = info[0]
    c = {
        "name": name, "arity": info[1], "flags": info[2] + hidden.get(name, []),
        "first_key": info[3], "last_key": info[4], "step": info[5],
        "acl_categories": info[6], "tips": info[7], "key_specs": [key_spec(k) for k in info[8]],
    }
    for k in ["summary", "since", "group", "complexity", "doc_flags", "deprecated_since", "replaced_by", "history", "arguments"]:
        if k in docs: c[k] = docs[k]
    subs = info[9]
    if subs:
        sub_docs = docs.get("subcommands", {})
        c["subcommands"] = sorted((command(s, sub_docs[s[0]], hidden) for s in subs), key=lambda x: x["name"])
    return c

def main():
    port, json_dir = int(sys.argv[1]), sys.argv[2]
    f = connect(port)
    send(f, "HELLO", "3"); read(f)
    send(f, "COMMAND", "INFO"); infos = read(f)
    send(f, "COMMAND", "DOCS"); docs = read(f)
    send(f, "INFO", "server"); version = [l for l in read(f).splitlines() if l.startswith("redis_version:")][0]
    if version != "redis_version:7.0.15": raise SystemExit("need redis-server 7.0.15, got " + version)
    hidden = hidden_flags(json_dir)
    commands = sorted((command(i, docs[i[0]], hidden) for i in infos), key=lambda x: x["name"])
    json.dump({"source": "redis-server 7.0.15: COMMAND INFO, COMMAND DOCS (RESP3); hidden flags from src/commands/*.json",
               "commands": commands}, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")

main()
