using System.Text;
using Demikernel.Resp;

namespace Demikernel.Server.Tests;

/// <summary>
/// The command table is redis-server 7.0.15's metadata: COMMAND INFO and COMMAND DOCS of every command we have (and of
/// each subcommand) are compared with redis-server's answers byte for byte, in RESP2 and RESP3. A container's
/// subcommands are listed in redis-server's hash order there and by name here, and only ours appear here, so for a
/// container both answers are compared with the subcommands filtered to ours and sorted.
/// </summary>
public sealed class CommandTableTests
{
    [Fact]
    public void EveryCommandIsFoundByItsRequestBytesInAnyCase()
    {
        using var h = new CommandHarness();
        var table = h.Server.Commands;
        Assert.True(table.Count > 200);
        foreach (var spec in table.All)
        {
            string name = spec.Name;
            string mixed = string.Concat(name.Select((c, i) => i % 2 == 0 ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)));
            foreach (var form in new[] { name.ToUpperInvariant(), name.ToLowerInvariant(), mixed })
            {
                Assert.True(table.TryGet(Encoding.ASCII.GetBytes(form), out var found), form);
                Assert.Same(spec, found);
            }
        }
        foreach (var unknown in new[] { "", "GE", "GETT", "GET ", "G\u00c9T", "SET\0", "XYZZY" })
            Assert.False(table.TryGet(Encoding.UTF8.GetBytes(unknown), out _), unknown);
        Assert.StartsWith("-ERR unknown command 'gett'", h.Run("gett", "k"), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void CommandInfoAndDocsMatchRedisServerForEveryCommand(int protocol)
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        redis.Run("HELLO", protocol.ToString());
        h.Protocol = protocol == 3 ? RespVersion.Resp3 : RespVersion.Resp2;
        var mismatches = new List<string>();
        int compared = 0;
        foreach (var spec in h.Server.Commands.All)
        {
            if (!spec.HasMetadata) continue;
            var ours = spec.Subcommands.Where(s => s.HasMetadata).Select(s => s.WireName).ToHashSet();
            var names = ours.Prepend(spec.WireName);
            foreach (var name in names)
            {
                foreach (var sub in new[] { "INFO", "DOCS" })
                {
                    byte[] expected = redis.Execute(Bytes("COMMAND", sub, name));
                    byte[] actual = h.Execute(Bytes("COMMAND", sub, name));
                    if (name == spec.WireName && ours.Count > 0)
                    {
                        expected = Canonical(expected, ours, sub == "INFO");
                        actual = Canonical(actual, ours, sub == "INFO");
                    }
                    compared++;
                    if (!expected.AsSpan().SequenceEqual(actual))
                        mismatches.Add($"COMMAND {sub} {name}\n  redis: {Show(expected)}\n  ours:  {Show(actual)}");
                }
            }
        }
        Assert.True(compared > 400, $"only {compared} answers compared");
        Assert.True(mismatches.Count == 0, $"{mismatches.Count} of {compared} differ:\n" + string.Join("\n", mismatches.Take(20)));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void CommandSubcommandsMatchRedisServer(int protocol)
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        redis.Run("HELLO", protocol.ToString());
        h.Protocol = protocol == 3 ? RespVersion.Resp3 : RespVersion.Resp2;
        string[][] script =
        [
            ["COMMAND", "INFO", "get", "nosuch", "config|get", "get|x", "config|get|x", "CONFIG|GET"],
            ["COMMAND", "DOCS", "nosuch", "get", "config|nosuch"],
            ["COMMAND", "GETKEYS", "GET", "k"], ["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"],
            ["COMMAND", "GETKEYS", "MSET", "a", "1", "b"], ["COMMAND", "GETKEYS", "PING"], ["COMMAND", "GETKEYS", "NOSUCH", "x"],
            ["COMMAND", "GETKEYS", "GET"], ["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
            ["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "x", "a"], ["COMMAND", "GETKEYS", "ZUNIONSTORE", "d", "5", "a"],
            ["COMMAND", "GETKEYS", "XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"],
            ["COMMAND", "GETKEYS", "XREADGROUP", "GROUP", "g", "c", "STREAMS", "s1", ">"],
            ["COMMAND", "GETKEYS", "LMPOP", "2", "a", "b", "LEFT"], ["COMMAND", "GETKEYS", "BLMPOP", "0", "2", "a", "b", "LEFT"],
            ["COMMAND", "GETKEYS", "SORT", "l", "BY", "w_*", "LIMIT", "0", "1", "GET", "#", "STORE", "dst"],
            ["COMMAND", "GETKEYS", "SORT_RO", "l", "BY", "w_*"], ["COMMAND", "GETKEYS", "OBJECT", "ENCODING", "k"],
            ["COMMAND", "GETKEYS", "OBJECT", "NOSUCH", "k"], ["COMMAND", "GETKEYS", "CONFIG", "GET", "x"],
            ["COMMAND", "GETKEYSANDFLAGS", "SET", "k", "v"], ["COMMAND", "GETKEYSANDFLAGS", "SET", "k", "v", "GET"],
            ["COMMAND", "GETKEYSANDFLAGS", "LMOVE", "a", "b", "LEFT", "RIGHT"], ["COMMAND", "GETKEYSANDFLAGS", "BITFIELD", "k", "GET", "u8", "0"],
            ["COMMAND", "GETKEYSANDFLAGS", "BITFIELD", "k", "SET", "u8", "0", "1"], ["COMMAND", "GETKEYSANDFLAGS", "DEL", "a", "b"],
            ["COMMAND", "GETKEYSANDFLAGS", "RENAME", "a", "b"], ["COMMAND", "GETKEYSANDFLAGS", "ZRANGESTORE", "d", "s", "0", "1"],
            ["COMMAND", "GETKEYSANDFLAGS", "MIGRATE"], ["COMMAND", "LIST", "FILTERBY", "NOSUCH", "x"], ["COMMAND", "LIST", "x"],
            ["COMMAND", "LIST", "FILTERBY", "MODULE", "x"], ["COMMAND", "LIST", "FILTERBY", "ACLCAT", "nosuch"],
            ["COMMAND", "LIST", "FILTERBY", "PATTERN", "zzz*"], ["COMMAND", "HELP"], ["COMMAND", "INFO", "get", "set"],
        ];
        var mismatches = redis.Compare(h, script);
        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches));
    }

    [Fact]
    public void CommandListFiltersMatchRedisServerOnOurCommands()
    {
        using var redis = ReferenceRedis.TryStart();
        using var h = new CommandHarness();
        var ours = List(h.Execute(Bytes("COMMAND", "LIST"))).ToHashSet();
        Assert.Contains("config|get", ours);
        foreach (var filter in new[] { new[] { "ACLCAT", "read" }, ["ACLCAT", "WRITE"], ["ACLCAT", "dangerous"], ["ACLCAT", "keyspace"],
                     ["ACLCAT", "scripting"], ["PATTERN", "z*"], ["PATTERN", "CONFIG|*"], ["PATTERN", "*range*"] })
        {
            var expected = List(redis.Execute(Bytes(["COMMAND", "LIST", "FILTERBY", .. filter]))).Where(ours.Contains).Order(StringComparer.Ordinal);
            var actual = List(h.Execute(Bytes(["COMMAND", "LIST", "FILTERBY", .. filter]))).Order(StringComparer.Ordinal);
            Assert.Equal(expected, actual);
        }
        Assert.Equal(ours.Count, List(h.Execute(Bytes("COMMAND", "LIST"))).Count);
        Assert.Equal($":{h.Server.Commands.Count}\r\n", Encoding.ASCII.GetString(h.Execute(Bytes("COMMAND", "COUNT"))));
    }

    [Fact]
    public void TheTableCarriesRedisFlagsForScriptsAndOurOwnFlags()
    {
        using var h = new CommandHarness();
        var t = h.Server.Commands;
        Assert.True(t.TryGet("SET", out var set));
        Assert.Equal(Server.Commands.CommandFlags.Write | Server.Commands.CommandFlags.DenyOom, set.Flags);
        Assert.True(t.TryGet("PUBLISH", out var publish));
        Assert.True(publish.Flags.HasFlag(Server.Commands.CommandFlags.MayReplicate)); // hidden by COMMAND INFO, still there
        Assert.DoesNotContain("may_replicate", publish.FlagNames());
        Assert.True(t.TryGet("MULTI", out var multi));
        Assert.True(multi.Flags.HasFlag(Server.Commands.CommandFlags.NoScript));
        Assert.True(multi.Flags.HasFlag(Server.Commands.CommandFlags.RunsInMulti));
        Assert.True(t.TryGet("PING", out var ping));
        Assert.True(ping.Flags.HasFlag(Server.Commands.CommandFlags.AllowedWhileSubscribed));
        Assert.True(t.TryGet("ZUNIONSTORE", out var zu));
        Assert.Equal(Server.Commands.FindKeysType.Keynum, zu.KeySpecs[1].FindKeys);
        Assert.True(t.TryGet("CONFIG", out var config));
        Assert.Contains(config.Subcommands, s => s.WireName == "config|get" && s.Arity == -3 && s.AclCategories.Contains("@dangerous"));
    }

    // ---------------------------------------------------------------- helpers

    private static byte[][] Bytes(params string[] args) => args.Select(Encoding.UTF8.GetBytes).ToArray();

    private static string Show(byte[] b) => Encoding.Latin1.GetString(b).Replace("\r", "\\r").Replace("\n", "\\n");

    private static List<string> List(byte[] reply)
    {
        var root = Parse(reply);
        return root.Children.Select(c => c.Text).ToList();
    }

    /// <summary>A COMMAND INFO/DOCS answer with a container's subcommands kept to <paramref name="ours"/> and sorted.</summary>
    private static byte[] Canonical(byte[] reply, HashSet<string> ours, bool info)
    {
        var root = Parse(reply);
        foreach (var top in root.Children)
        {
            if (info)
            {
                var subs = top.Children[9];
                subs.Children = subs.Children.Where(s => ours.Contains(s.Children[0].Text)).OrderBy(s => s.Children[0].Text, StringComparer.Ordinal).ToList();
            }
        }
        if (!info)
        {
            var docs = root.Children[1];
            for (int i = 0; i + 1 < docs.Children.Count; i += 2)
            {
                if (docs.Children[i].Text != "subcommands") continue;
                var map = docs.Children[i + 1];
                var pairs = new List<(Node Name, Node Value)>();
                for (int j = 0; j + 1 < map.Children.Count; j += 2) pairs.Add((map.Children[j], map.Children[j + 1]));
                map.Children = pairs.Where(p => ours.Contains(p.Name.Text)).OrderBy(p => p.Name.Text, StringComparer.Ordinal)
                    .SelectMany(p => new[] { p.Name, p.Value }).ToList();
            }
        }
        var output = new MemoryStream();
        Write(root, output);
        return output.ToArray();
    }

    private sealed class Node
    {
        public char Type;
        public string Text = "";
        public List<Node> Children = [];
    }

    private static Node Parse(byte[] data)
    {
        int offset = 0;
        return Read(data, ref offset);
    }

    private static Node Read(byte[] data, ref int offset)
    {
        int end = Array.IndexOf(data, (byte)'\n', offset);
        string line = Encoding.Latin1.GetString(data, offset + 1, end - offset - 2);
        var node = new Node { Type = (char)data[offset] };
        offset = end + 1;
        switch (node.Type)
        {
            case '$':
                int n = int.Parse(line);
                if (n >= 0)
                {
                    node.Text = Encoding.Latin1.GetString(data, offset, n);
                    offset += n + 2;
                }
                else node.Text = line;
                break;
            case '*' or '~' or '%':
                int count = int.Parse(line);
                if (node.Type == '%') count *= 2;
                if (count < 0) node.Text = line;
                for (int i = 0; i < count; i++) node.Children.Add(Read(data, ref offset));
                break;
            default:
                node.Text = line;
                break;
        }
        return node;
    }

    private static void Write(Node node, MemoryStream output)
    {
        void Line(string s) => output.Write(Encoding.Latin1.GetBytes(s + "\r\n"));
        switch (node.Type)
        {
            case '$':
                Line($"${Encoding.Latin1.GetByteCount(node.Text)}");
                Line(node.Text);
                break;
            case '*' or '~' or '%':
                Line($"{node.Type}{(node.Type == '%' ? node.Children.Count / 2 : node.Children.Count)}");
                foreach (var c in node.Children) Write(c, output);
                break;
            default:
                Line($"{node.Type}{node.Text}");
                break;
        }
    }
}
