using StackExchange.Redis;

namespace Demikernel.Server.IntegrationTests;

/// <summary>
/// Scripts as client libraries send them, through StackExchange.Redis's own API against the real server over TCP:
/// ScriptEvaluate (EVALSHA with EVAL fallback), LuaScript.Prepare with @parameters, LoadedLuaScript, the lock and
/// rate-limiter scripts applications copy from the docs, and FUNCTION/FCALL through Execute.
/// </summary>
public abstract partial class StackExchangeRedisTests
{
    [Fact]
    public void ScriptEvaluateRunsAndCaches()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        string key = UniqueKey("script");
        var result = db.ScriptEvaluate("redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])", [key], ["v1"]);
        Assert.Equal("v1", (string?)result);
        // The second call goes by SHA1 (EVALSHA), the script being cached now.
        result = db.ScriptEvaluate("redis.call('set', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])", [key], ["v2"]);
        Assert.Equal("v2", (string?)result);
        var array = (RedisResult[])db.ScriptEvaluate("return {1, 'two', {3}, redis.status_reply('OK')}")!;
        Assert.Equal(4, array.Length);
        Assert.Equal(1, (long)array[0]);
        Assert.Equal("two", (string?)array[1]);
        Assert.Equal(3, (long)((RedisResult[])array[2]!)[0]);
        Assert.Equal("OK", (string?)array[3]);
        var error = Assert.Throws<RedisServerException>(() => db.ScriptEvaluate("return redis.call('incr', KEYS[1])", [key]));
        Assert.StartsWith("ERR value is not an integer or out of range script: ", error.Message, StringComparison.Ordinal);
        db.KeyDelete(key);
    }

    [Fact]
    public void LuaScriptPrepareWithParameters()
    {
        using var muxer = ConnectAdmin();
        var db = muxer.GetDatabase();
        string key = UniqueKey("prepared");
        var script = LuaScript.Prepare("redis.call('set', @key, @value) return redis.call('strlen', @key)");
        Assert.Equal(5, (long)db.ScriptEvaluate(script, new { key = (RedisKey)key, value = "hello" }));
        var loaded = script.Load(ServerOf(muxer));
        Assert.Equal(3, (long)db.ScriptEvaluate(loaded, new { key = (RedisKey)key, value = "abc" }));
        Assert.True(ServerOf(muxer).ScriptExists(script.ExecutableScript));
        db.KeyDelete(key);
    }

    [Fact]
    public void LockWithCompareAndDelete()
    {
        using var a = Connect();
        using var b = Connect();
        string key = UniqueKey("lock");
        const string release = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
        Assert.True(a.GetDatabase().StringSet(key, "token-a", TimeSpan.FromSeconds(30), When.NotExists));
        Assert.False(b.GetDatabase().StringSet(key, "token-b", TimeSpan.FromSeconds(30), When.NotExists));
        Assert.Equal(0, (long)b.GetDatabase().ScriptEvaluate(release, [key], ["token-b"])); // not b's lock
        Assert.Equal("token-a", (string?)a.GetDatabase().StringGet(key));
        Assert.Equal(1, (long)a.GetDatabase().ScriptEvaluate(release, [key], ["token-a"]));
        Assert.True(b.GetDatabase().StringSet(key, "token-b", TimeSpan.FromSeconds(30), When.NotExists));
        b.GetDatabase().KeyDelete(key);
    }

    [Fact]
    public void FixedWindowRateLimiter()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        string key = UniqueKey("rate");
        const string limiter = """
            local current = redis.call('incr', KEYS[1])
            if current == 1 then redis.call('pexpire', KEYS[1], ARGV[2]) end
            if current > tonumber(ARGV[1]) then return 0 end
            return 1
            """;
        var allowed = Enumerable.Range(0, 8).Select(_ => (long)db.ScriptEvaluate(limiter, [key], [5, 60000])).ToArray();
        Assert.Equal(new long[] { 1, 1, 1, 1, 1, 0, 0, 0 }, allowed);
        Assert.InRange(db.KeyTimeToLive(key)!.Value.TotalMilliseconds, 1, 60000);
        db.KeyDelete(key);
    }

    [Fact]
    public void FunctionLoadAndFcall()
    {
        using var muxer = Connect();
        var db = muxer.GetDatabase();
        string lib = "lib_" + Guid.NewGuid().ToString("N");
        string fn = "fn_" + Guid.NewGuid().ToString("N");
        string key = UniqueKey("fcall");
        string code = $"#!lua name={lib}\nredis.register_function('{fn}', function(keys, args) return redis.call('set', keys[1], args[1]) end)";
        Assert.Equal(lib, (string?)db.Execute("FUNCTION", "LOAD", code));
        Assert.Equal("OK", (string?)db.Execute("FCALL", fn, 1, key, "value"));
        Assert.Equal("value", (string?)db.StringGet(key));
        var error = Assert.Throws<RedisServerException>(() => db.Execute("FCALL_RO", fn, 1, key, "value"));
        Assert.Equal("ERR Can not execute a script with write flag using *_ro command.", error.Message);
        Assert.Equal("OK", (string?)db.Execute("FUNCTION", "DELETE", lib));
        db.KeyDelete(key);
    }
}
