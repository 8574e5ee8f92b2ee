using System.Globalization;
using System.Text;

namespace Demikernel.Compare;

/// <summary>
/// The commands of the matrix as redis-benchmark runs them: <c>__rand_int__</c> becomes a 12-digit key number below
/// the key count (-r), so every request hits a key the preload created (collections keep a few members, and the
/// member a command names exists). <c>V</c> stands for the cell's value.
/// </summary>
internal static class Workloads
{
    public static readonly string[] All = ["GET", "SET", "INCR", "LPUSH", "LPOP", "HSET", "HGET", "SADD", "ZADD", "ZSCORE"];

    public static string[] Arguments(string command, string value) => command switch
    {
        "GET" => ["GET", "key:__rand_int__"],
        "SET" => ["SET", "key:__rand_int__", value],
        "INCR" => ["INCR", "counter:__rand_int__"],
        // LPUSH runs before LPOP in every round with the same request count, so lists keep their length on average.
        "LPUSH" => ["LPUSH", "list:__rand_int__", value],
        "LPOP" => ["LPOP", "list:__rand_int__"],
        "HSET" => ["HSET", "hash:__rand_int__", "f1", value],
        "HGET" => ["HGET", "hash:__rand_int__", "f1"],
        "SADD" => ["SADD", "set:__rand_int__", "m2"],
        "ZADD" => ["ZADD", "zset:__rand_int__", "2.5", "m2"],
        "ZSCORE" => ["ZSCORE", "zset:__rand_int__", "m2"],
        _ => throw new ArgumentException($"unknown command {command}"),
    };

    /// <summary>The matrix's data: <paramref name="keys"/> strings and counters, and up to <paramref name="collectionCap"/>
    /// lists, hashes, sets and sorted sets (4 members each). Returns the number of keys written.</summary>
    public static long Preload(Stream s, long keys, int valueBytes, long collectionCap)
    {
        var v = Encoding.ASCII.GetBytes(new string('v', valueBytes));
        long collections = Math.Min(keys, collectionCap);
        for (long i = 0; i < keys; i++)
        {
            var n = Encoding.ASCII.GetBytes(i.ToString("D12", CultureInfo.InvariantCulture));
            Resp.Write(s, "SET"u8, [.. "key:"u8, .. n], v);
            Resp.Write(s, "SET"u8, [.. "counter:"u8, .. n], B("1"));
            if (i >= collections) continue;
            Resp.Write(s, "RPUSH"u8, [.. "list:"u8, .. n], v, v, v, v);
            Resp.Write(s, "HSET"u8, [.. "hash:"u8, .. n], B("f1"), v, B("f2"), v);
            Resp.Write(s, "SADD"u8, [.. "set:"u8, .. n], B("m1"), B("m2"), B("m3"), B("m4"));
            Resp.Write(s, "ZADD"u8, [.. "zset:"u8, .. n], B("1"), B("m1"), B("2"), B("m2"), B("3"), B("m3"), B("4"), B("m4"));
        }
        return 2 * keys + 4 * collections;
    }

    /// <summary>The per-type memory data sets: <paramref name="keys"/> keys of one type; collections hold
    /// <paramref name="elements"/> elements (16-byte values, members "member:NNN").</summary>
    public static void PreloadType(Stream s, string type, long keys, int elements)
    {
        var v16 = Encoding.ASCII.GetBytes(new string('v', 16));
        var v1k = Encoding.ASCII.GetBytes(new string('v', 1024));
        var members = Enumerable.Range(0, elements).Select(j => Encoding.ASCII.GetBytes($"member:{j:D3}")).ToArray();
        var fields = Enumerable.Range(0, elements).Select(j => Encoding.ASCII.GetBytes($"field:{j:D3}")).ToArray();
        var args = new List<byte[]>();
        for (long i = 0; i < keys; i++)
        {
            var n = Encoding.ASCII.GetBytes(i.ToString("D12", CultureInfo.InvariantCulture));
            args.Clear();
            switch (type)
            {
                case "string-16B": Resp.Write(s, "SET"u8, [.. "key:"u8, .. n], v16); continue;
                case "string-1KB": Resp.Write(s, "SET"u8, [.. "key:"u8, .. n], v1k); continue;
                case "hash-100":
                    args.Add("HSET"u8.ToArray()); args.Add([.. "hash:"u8, .. n]);
                    for (int j = 0; j < elements; j++) { args.Add(fields[j]); args.Add(v16); }
                    break;
                case "set-100":
                    args.Add("SADD"u8.ToArray()); args.Add([.. "set:"u8, .. n]);
                    args.AddRange(members);
                    break;
                case "zset-100":
                    args.Add("ZADD"u8.ToArray()); args.Add([.. "zset:"u8, .. n]);
                    for (int j = 0; j < elements; j++) { args.Add(Encoding.ASCII.GetBytes(j.ToString(CultureInfo.InvariantCulture))); args.Add(members[j]); }
                    break;
                case "list-100":
                    args.Add("RPUSH"u8.ToArray()); args.Add([.. "list:"u8, .. n]);
                    for (int j = 0; j < elements; j++) args.Add(v16);
                    break;
                default: throw new ArgumentException($"unknown type {type}");
            }
            Resp.Write(s, args);
        }
    }

    private static byte[] B(string s) => Encoding.ASCII.GetBytes(s);

    public static readonly string[] MemoryTypes = ["string-16B", "string-1KB", "hash-100", "set-100", "zset-100", "list-100"];
}

internal static class Resp
{
    public static void Write(Stream s, ReadOnlySpan<byte> command, params ReadOnlySpan<byte[]> args)
    {
        Header(s, '*', args.Length + 1);
        Bulk(s, command);
        foreach (var a in args) Bulk(s, a);
    }

    public static void Write(Stream s, List<byte[]> args)
    {
        Header(s, '*', args.Count);
        foreach (var a in args) Bulk(s, a);
    }

    private static void Bulk(Stream s, ReadOnlySpan<byte> value)
    {
        Header(s, '$', value.Length);
        s.Write(value);
        s.Write("\r\n"u8);
    }

    private static void Header(Stream s, char kind, int n)
    {
        s.WriteByte((byte)kind);
        Span<byte> digits = stackalloc byte[12];
        n.TryFormat(digits, out int w, default, CultureInfo.InvariantCulture);
        s.Write(digits[..w]);
        s.Write("\r\n"u8);
    }
}
