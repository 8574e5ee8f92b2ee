using System.Text;
using Demikernel.Resp;
using static Demikernel.Server.Tests.CommandHarness;

namespace Demikernel.Server.Tests;

/// <summary>Generic key commands through the real dispatcher; expected replies checked against redis-server 7.0.</summary>
public sealed class KeyCommandTests : IDisposable
{
    private readonly CommandHarness _h = new();

    public void Dispose() => _h.Dispose();

    private string Run(params string[] args) => _h.Run(args);

    [Fact]
    public void DelUnlinkExistsTouch()
    {
        Run("MSET", "a", "1", "b", "2", "c", "3");
        Assert.Equal(Int(3), Run("EXISTS", "a", "b", "x", "a"));
        Assert.Equal(Int(2), Run("TOUCH", "a", "b", "x"));
        Assert.Equal(Int(2), Run("DEL", "a", "b", "a", "x"));
        Assert.Equal(Int(1), Run("UNLINK", "c"));
        Assert.Equal(Int(0), Run("EXISTS", "a", "b", "c"));
        Assert.Equal(Err("ERR wrong number of arguments for 'del' command"), Run("DEL"));
    }

    [Fact]
    public void DelOfAnExpiredKeyCountsZero()
    {
        Run("SET", "k", "v", "PX", "10");
        _h.AdvanceMs(11);
        Assert.Equal(Int(0), Run("DEL", "k"));
        Assert.Equal(1, _h.Server.Stats.ExpiredKeys);
    }

    [Fact]
    public void Type()
    {
        Run("SET", "s", "v");
        _h.Db.SetObject("l"u8, new TestList(), Demikernel.Server.Store.KeyEvent.None);
        Assert.Equal("+string\r\n", Run("TYPE", "s"));
        Assert.Equal("+list\r\n", Run("TYPE", "l"));
        Assert.Equal("+none\r\n", Run("TYPE", "nope"));
    }

    [Fact]
    public void RenameAndRenameNx()
    {
        Assert.Equal(Err("ERR no such key"), Run("RENAME", "missing", "x"));
        Assert.Equal(Err("ERR no such key"), Run("RENAMENX", "missing", "x"));
        Run("SET", "k", "v");
        Run("EXPIRE", "k", "100");
        Assert.Equal(Ok, Run("RENAME", "k", "k"));
        Assert.Equal(Int(0), Run("RENAMENX", "k", "k"));
        Run("SET", "a", "1");
        Assert.Equal(Int(0), Run("RENAMENX", "k", "a"));
        Assert.Equal(Ok, Run("RENAME", "k", "a"));
        Assert.Equal(Bulk("v"), Run("GET", "a"));
        Assert.Equal(Int(100), Run("TTL", "a"));
        Assert.Equal(Int(0), Run("EXISTS", "k"));
        Assert.Equal(Int(1), Run("RENAMENX", "a", "b"));
        Assert.Equal(Bulk("v"), Run("GET", "b"));
    }

    [Fact]
    public void ExpireFamily()
    {
        long now = _h.NowMs;
        Assert.Equal(Int(0), Run("EXPIRE", "missing", "10"));
        Run("SET", "k", "v");
        Assert.Equal(Int(1), Run("EXPIRE", "k", "10"));
        Assert.Equal(Int(10), Run("TTL", "k"));
        Assert.Equal(Int(10_000), Run("PTTL", "k"));
        Assert.Equal(Int(1), Run("PEXPIRE", "k", "2500"));
        Assert.Equal(Int(2500), Run("PTTL", "k"));
        Assert.Equal(Int(3), Run("TTL", "k"));
        Assert.Equal(Int(1), Run("EXPIREAT", "k", ((now / 1000) + 100).ToString()));
        Assert.Equal(Int((now / 1000) + 100), Run("EXPIRETIME", "k"));
        Assert.Equal(Int(1), Run("PEXPIREAT", "k", (now + 12345).ToString()));
        Assert.Equal(Int(now + 12345), Run("PEXPIRETIME", "k"));
        Assert.Equal(Int(12345), Run("PTTL", "k"));
        Assert.Equal(Int(1), Run("PERSIST", "k"));
        Assert.Equal(Int(0), Run("PERSIST", "k"));
        Assert.Equal(Int(0), Run("PERSIST", "missing"));
        Assert.Equal(Int(-1), Run("TTL", "k"));
        Assert.Equal(Int(-1), Run("PEXPIRETIME", "k"));
        Assert.Equal(Int(-2), Run("TTL", "missing"));
        Assert.Equal(Int(-2), Run("PTTL", "missing"));
        Assert.Equal(Int(-2), Run("EXPIRETIME", "missing"));
    }

    [Fact]
    public void ExpireInThePastDeletes()
    {
        Run("SET", "a", "v");
        Assert.Equal(Int(1), Run("EXPIRE", "a", "-1"));
        Assert.Equal(Int(0), Run("EXISTS", "a"));
        Run("SET", "b", "v");
        Assert.Equal(Int(1), Run("PEXPIREAT", "b", _h.NowMs.ToString())); // a deadline of "now" is already expired
        Assert.Equal(Int(0), Run("EXISTS", "b"));
        Run("SET", "c", "v");
        Assert.Equal(Int(1), Run("EXPIREAT", "c", "0"));
        Assert.Equal(0, _h.Db.Count);
        Assert.Equal(0, _h.Server.Stats.ExpiredKeys); // explicit deletes, not expirations
    }

    [Fact]
    public void ExpireOptions()
    {
        Run("SET", "k", "v");
        Assert.Equal(Int(0), Run("EXPIRE", "k", "10", "XX"));
        Assert.Equal(Int(0), Run("EXPIRE", "k", "10", "GT")); // no TTL counts as infinite
        Assert.Equal(Int(1), Run("EXPIRE", "k", "10", "nx"));
        Assert.Equal(Int(0), Run("EXPIRE", "k", "20", "NX"));
        Assert.Equal(Int(0), Run("EXPIRE", "k", "5", "GT"));
        Assert.Equal(Int(0), Run("EXPIRE", "k", "10", "GT"));
        Assert.Equal(Int(1), Run("EXPIRE", "k", "50", "GT"));
        Assert.Equal(Int(0), Run("EXPIRE", "k", "60", "LT"));
        Assert.Equal(Int(1), Run("EXPIRE", "k", "5", "LT", "XX"));
        Assert.Equal(Int(5), Run("TTL", "k"));
        Run("SET", "p", "v");
        Assert.Equal(Int(1), Run("EXPIRE", "p", "100", "LT")); // no TTL: LT succeeds
        Assert.Equal(Err("ERR NX and XX, GT or LT options at the same time are not compatible"), Run("EXPIRE", "k", "10", "NX", "XX"));
        Assert.Equal(Err("ERR NX and XX, GT or LT options at the same time are not compatible"), Run("EXPIRE", "k", "10", "GT", "NX"));
        Assert.Equal(Err("ERR GT and LT options at the same time are not compatible"), Run("EXPIRE", "k", "10", "GT", "LT"));
        Assert.Equal(Err("ERR Unsupported option FOO"), Run("EXPIRE", "k", "10", "FOO"));
        Assert.Equal(Err("ERR Unsupported option FOO"), Run("EXPIRE", "k", "abc", "FOO")); // options before the number
    }

    [Fact]
    public void ExpireErrors()
    {
        Run("SET", "k", "v");
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("EXPIRE", "k", "abc"));
        Assert.Equal(Err("ERR invalid expire time in 'expire' command"), Run("EXPIRE", "k", "9223372036854775807"));
        Assert.Equal(Err("ERR invalid expire time in 'pexpire' command"), Run("PEXPIRE", "k", "9223372036854775807"));
        Assert.Equal(Err("ERR invalid expire time in 'expireat' command"), Run("EXPIREAT", "k", "9223372036854775807"));
        Assert.Equal(Err("ERR invalid expire time in 'expire' command"), Run("EXPIRE", "k", "-9223372036854775808"));
        Assert.Equal(Int(1), Run("PEXPIREAT", "k", "9223372036854775807"));
        Assert.Equal(Int(9223372036854776), Run("EXPIRETIME", "k"));
        Assert.Equal(Err("ERR wrong number of arguments for 'expire' command"), Run("EXPIRE", "k"));
    }

    [Fact]
    public void KeysExpireWithoutBeingTouched()
    {
        for (int i = 0; i < 100; i++) Run("SET", $"t{i}", "v", "PX", "100");
        Run("SET", "keep", "v");
        Assert.Equal(101, _h.Db.Count);
        Assert.Equal(100, _h.Db.ExpiresCount);
        _h.AdvanceMs(101);
        int expired = 0;
        for (int i = 0; i < 50 && _h.Db.ExpiresCount > 0; i++) expired += _h.Db.ActiveExpireCycle(20);
        Assert.Equal(100, expired);
        Assert.Equal(1, _h.Db.Count);
        Assert.Equal("*1\r\n$4\r\nkeep\r\n", Run("KEYS", "*"));
    }

    [Fact]
    public void TtlCountsAsRead()
    {
        Run("SET", "k", "v");
        Run("TTL", "k");
        Run("TTL", "nope");
        Run("EXISTS", "k", "nope");
        Run("TYPE", "k");
        Assert.Equal(3, _h.Server.Stats.KeyspaceHits);
        Assert.Equal(2, _h.Server.Stats.KeyspaceMisses);
    }

    [Fact]
    public void Keys()
    {
        Run("MSET", "one", "1", "two", "2", "three", "3", "four", "4");
        Run("SET", "gone", "x", "PX", "5");
        _h.AdvanceMs(10);
        Assert.Equal(new[] { "four", "one", "three", "two" }, ParseBulkArray(Run("KEYS", "*")).Order());
        Assert.Equal(new[] { "four", "one" }, ParseBulkArray(Run("KEYS", "*o*r*")).Concat(ParseBulkArray(Run("KEYS", "o?e"))).Order());
        Assert.Equal(new[] { "three", "two" }, ParseBulkArray(Run("KEYS", "t[wh]*")).Order());
        Assert.Equal("*0\r\n", Run("KEYS", "nothing*"));
        Assert.Equal(5, _h.Db.Count); // KEYS hides expired keys but does not delete them
    }

    [Fact]
    public void RandomKey()
    {
        Assert.Equal(Nil, Run("RANDOMKEY"));
        Run("SET", "only", "v");
        Assert.Equal(Bulk("only"), Run("RANDOMKEY"));
        Run("SET", "gone", "v", "PX", "1");
        _h.AdvanceMs(2);
        for (int i = 0; i < 10; i++) Assert.Equal(Bulk("only"), Run("RANDOMKEY"));
    }

    [Fact]
    public void CopyAndMove()
    {
        Run("SET", "a", "va");
        Run("PEXPIRE", "a", "5000");
        Assert.Equal(Int(1), Run("COPY", "a", "b"));
        Assert.Equal(Bulk("va"), Run("GET", "b"));
        Assert.Equal(Int(5000), Run("PTTL", "b"));
        Assert.Equal(Int(0), Run("COPY", "a", "b"));
        Run("SET", "a", "new");
        Assert.Equal(Int(1), Run("COPY", "a", "b", "REPLACE"));
        Assert.Equal(Bulk("new"), Run("GET", "b"));
        Assert.Equal(Int(0), Run("COPY", "missing", "b"));
        Assert.Equal(Int(1), Run("COPY", "a", "a", "DB", "3"));
        Assert.Equal(Err("ERR source and destination objects are the same"), Run("COPY", "a", "a"));
        Assert.Equal(Err("ERR source and destination objects are the same"), Run("COPY", "a", "a", "DB", "0"));
        Assert.Equal(Err("ERR DB index is out of range"), Run("COPY", "a", "b", "DB", "16"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("COPY", "a", "b", "DB", "x"));
        Assert.Equal(Err("ERR syntax error"), Run("COPY", "a", "b", "DB"));
        Assert.Equal(Err("ERR syntax error"), Run("COPY", "a", "b", "FOO"));

        Run("SET", "m", "vm");
        Run("EXPIRE", "m", "100");
        Assert.Equal(Int(1), Run("MOVE", "m", "1"));
        Assert.Equal(Int(0), Run("EXISTS", "m"));
        Assert.Equal(Int(0), Run("MOVE", "m", "1"));
        Run("SET", "m", "again");
        Assert.Equal(Int(0), Run("MOVE", "m", "1")); // exists in the target
        Assert.Equal(Err("ERR source and destination objects are the same"), Run("MOVE", "m", "0"));
        Assert.Equal(Err("ERR DB index is out of range"), Run("MOVE", "m", "16"));
        Assert.Equal(Err("ERR DB index is out of range"), Run("MOVE", "m", "-1"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("MOVE", "m", "abc"));
        Assert.Equal(Err("ERR value is out of range, value must between -2147483648 and 2147483647"), Run("MOVE", "m", "99999999999"));
        _h.Client.Database = 1;
        Assert.Equal(Bulk("vm"), Run("GET", "m"));
        Assert.Equal(Int(100), Run("TTL", "m"));
        _h.Client.Database = 3;
        Assert.Equal(Bulk("new"), Run("GET", "a"));
        Assert.Equal(Int(-1), Run("PTTL", "a")); // SET removed the TTL before that copy
    }

    [Fact]
    public void ScanWalksEverythingWithMatchCountAndType()
    {
        for (int i = 0; i < 100; i++) Run("SET", $"key:{i}", "v");
        _h.Db.SetObject("list:1"u8, new TestList(), Demikernel.Server.Store.KeyEvent.None);
        var all = ScanAll();
        Assert.Equal(101, all.Count);
        Assert.Equal(101, all.Distinct().Count());
        var matched = ScanAll("MATCH", "key:1*");
        Assert.Equal(11, matched.Count);
        Assert.All(matched, k => Assert.StartsWith("key:1", k));
        Assert.Equal(["list:1"], ScanAll("TYPE", "list"));
        Assert.Equal(100, ScanAll("TYPE", "STRING", "COUNT", "1000").Count);
        Assert.Empty(ScanAll("TYPE", "hash"));
        Assert.Equal(101, ScanAll("COUNT", "3", "MATCH", "*").Distinct().Count());
    }

    [Fact]
    public void ScanFiltersAndReclaimsExpiredKeys()
    {
        for (int i = 0; i < 20; i++) Run("SET", $"t{i}", "v", "PX", "5");
        Run("SET", "keep", "v");
        _h.AdvanceMs(10);
        Assert.Equal(["keep"], ScanAll("COUNT", "100"));
        Assert.Equal(1, _h.Db.Count);
        Assert.Equal(20, _h.Server.Stats.ExpiredKeys);
    }

    [Fact]
    public void ScanReplyShapeAndErrors()
    {
        Assert.Equal("*2\r\n$1\r\n0\r\n*0\r\n", Run("SCAN", "0"));
        Run("SET", "a", "1");
        Assert.Equal("*2\r\n$1\r\n0\r\n*1\r\n$1\r\na\r\n", Run("SCAN", "0"));
        Assert.Equal(Err("ERR invalid cursor"), Run("SCAN", "abc"));
        Assert.Equal(Err("ERR invalid cursor"), Run("SCAN", " 1"));
        Assert.Equal(Err("ERR invalid cursor"), Run("SCAN", "18446744073709551616"));
        Assert.Equal(Err("ERR syntax error"), Run("SCAN", "0", "COUNT", "0"));
        Assert.Equal(Err("ERR syntax error"), Run("SCAN", "0", "COUNT"));
        Assert.Equal(Err("ERR syntax error"), Run("SCAN", "0", "FOO", "bar"));
        Assert.Equal(Err("ERR value is not an integer or out of range"), Run("SCAN", "0", "COUNT", "x"));
        Assert.StartsWith("*2\r\n", Run("SCAN", "18446744073709551615"));
        Assert.StartsWith("*2\r\n", Run("SCAN", "-1"));
        Assert.StartsWith("*2\r\n", Run("SCAN", ""));
    }

    [Fact]
    public void ScanCursorParsing()
    {
        Assert.True(Commands.KeyCommands.TryParseCursor("0"u8, out ulong c) && c == 0);
        Assert.True(Commands.KeyCommands.TryParseCursor("18446744073709551615"u8, out c) && c == ulong.MaxValue);
        Assert.True(Commands.KeyCommands.TryParseCursor("-1"u8, out c) && c == ulong.MaxValue);
        Assert.True(Commands.KeyCommands.TryParseCursor("+7"u8, out c) && c == 7);
        Assert.True(Commands.KeyCommands.TryParseCursor(""u8, out c) && c == 0);
        Assert.False(Commands.KeyCommands.TryParseCursor("+"u8, out _));
        Assert.False(Commands.KeyCommands.TryParseCursor("1 "u8, out _));
        Assert.False(Commands.KeyCommands.TryParseCursor("18446744073709551616"u8, out _));
    }

    [Fact]
    public void ObjectCommand()
    {
        Run("SET", "k", "hello");
        Assert.Equal(Bulk("embstr"), Run("OBJECT", "ENCODING", "k"));
        _h.Db.SetObject("l"u8, new TestList(), Demikernel.Server.Store.KeyEvent.None);
        Assert.Equal(Bulk("listpack"), Run("object", "encoding", "l"));
        Assert.Equal(Int(1), Run("OBJECT", "REFCOUNT", "k"));
        _h.AdvanceMs(3500);
        Assert.Equal(Int(3), Run("OBJECT", "IDLETIME", "k"));
        Run("GET", "k");
        _h.Db.ActiveExpireCycle(1); // the cron refreshes the LRU clock
        Run("GET", "k");
        Assert.Equal(Int(0), Run("OBJECT", "IDLETIME", "k"));
        Assert.Equal(Nil, Run("OBJECT", "IDLETIME", "missing"));
        Assert.Equal(Err("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust."), Run("OBJECT", "FREQ", "k"));
        Assert.Equal(Err("ERR unknown subcommand 'foo'. Try OBJECT HELP."), Run("OBJECT", "foo"));
        Assert.Equal(Err("ERR wrong number of arguments for 'object|encoding' command"), Run("OBJECT", "ENCODING"));
        var help = Run("OBJECT", "HELP");
        Assert.StartsWith("*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n+ENCODING <key>\r\n", help);
        Assert.EndsWith("+HELP\r\n+    Prints this help.\r\n", help);
    }

    [Fact]
    public void CommandTableHasRedisKeySpecs()
    {
        Assert.True(_h.Server.Commands.TryGet("MSET", out var mset));
        Assert.Equal((-3, 1, -1, 2), (mset.Arity, mset.FirstKey, mset.LastKey, mset.Step));
        Assert.True(_h.Server.Commands.TryGet("RENAME", out var rename));
        Assert.Equal((3, 1, 2, 1), (rename.Arity, rename.FirstKey, rename.LastKey, rename.Step));
        Assert.True(_h.Server.Commands.TryGet("SCAN", out var scan));
        Assert.Equal((0, "generic", "2.8.0"), (scan.FirstKey, scan.Group, scan.Since));
        Assert.True(_h.Server.Commands.TryGet("GET", out var get));
        Assert.Equal(["readonly", "fast"], get.FlagNames());
        Assert.True(_h.Server.Commands.TryGet("OBJECT", out var obj));
        Assert.Equal(5, obj.Subcommands.Length);
        Assert.Equal("object|encoding", obj.Subcommands[0].WireName);
    }

    // ---- helpers ----

    private List<string> ScanAll(params string[] options)
    {
        var keys = new List<string>();
        string cursor = "0";
        int calls = 0;
        do
        {
            var reply = Run(["SCAN", cursor, .. options]);
            var parts = ParseScan(reply);
            cursor = parts.Cursor;
            keys.AddRange(parts.Keys);
            Assert.True(++calls < 10_000);
        }
        while (cursor != "0");
        return keys;
    }

    private static (string Cursor, List<string> Keys) ParseScan(string reply)
    {
        var lines = reply.Split("\r\n");
        Assert.Equal("*2", lines[0]);
        string cursor = lines[2];
        int n = int.Parse(lines[3][1..]);
        var keys = new List<string>();
        for (int i = 0; i < n; i++) keys.Add(lines[5 + (2 * i)]);
        return (cursor, keys);
    }

    private static List<string> ParseBulkArray(string reply)
    {
        var lines = reply.Split("\r\n");
        int n = int.Parse(lines[0][1..]);
        var items = new List<string>();
        for (int i = 0; i < n; i++) items.Add(lines[2 + (2 * i)]);
        return items;
    }
}
