namespace Demikernel.Server.Tests;

/// <summary>
/// EVAL, FUNCTION and the libraries scripts use, compared byte for byte with redis-server 7.0.15 in RESP2 and RESP3:
/// conversions both ways (redis.setresp(3) included), errors and their "script: ..., on @user_script:N." suffixes,
/// pcall, the sandbox, cjson/cmsgpack/bit/struct, shebang flags, the *_RO variants and the FUNCTION lifecycle.
/// Tables with more than one string key are avoided where their order shows (Lua 5.1 and 5.4 hash differently).
/// </summary>
public sealed class ScriptingDifferentialTests
{
    private static readonly string[][] Eval =
    [
        ["SET", "s", "a"], ["SET", "n", "10"], ["RPUSH", "l", "x", "y"], ["HSET", "h", "f", "v"], ["SADD", "st", "m"], ["ZADD", "z", "1.5", "m"],
        // Lua -> reply
        ["EVAL", "return 1", "0"], ["EVAL", "return 3.99", "0"], ["EVAL", "return -3.99", "0"], ["EVAL", "return 'x'", "0"],
        ["EVAL", "return true", "0"], ["EVAL", "return false", "0"], ["EVAL", "return nil", "0"], ["EVAL", "return {}", "0"],
        ["EVAL", "return {1,2,3.5,'x',nil,4}", "0"], ["EVAL", "return {1,{2,{3,'a'}},true,false}", "0"],
        ["EVAL", "return {err='My Error'}", "0"], ["EVAL", "return {ok='fine'}", "0"], ["EVAL", "return {ok='a\\r\\nb'}", "0"],
        ["EVAL", "return redis.status_reply('PONG')", "0"], ["EVAL", "return redis.error_reply('X y')", "0"],
        ["EVAL", "return redis.error_reply('-X y')", "0"], ["EVAL", "return redis.error_reply('nospace')", "0"],
        ["EVAL", "return redis.error_reply(1)", "0"], ["EVAL", "return redis.status_reply()", "0"],
        ["EVAL", "return {double=3.5}", "0"], ["EVAL", "return {big_number='123456789012345678901234567890'}", "0"],
        ["EVAL", "return {verbatim_string={format='txt', string='hello'}}", "0"], ["EVAL", "return {map={a=1}}", "0"],
        ["EVAL", "return {set={a=true}}", "0"], ["EVAL", "return {map={}}", "0"], ["EVAL", "return function() end", "0"],
        ["EVAL", "return {KEYS[1], KEYS[2], ARGV[1], #KEYS, #ARGV}", "2", "k1", "k2", "a1", "a2"],
        ["EVAL", "return 2^53", "0"], ["EVAL", "return 1e300", "0"], ["EVAL", "return tostring(10/3)", "0"],
        // reply -> Lua (RESP2)
        ["EVAL", "return redis.call('get', 's')", "0"], ["EVAL", "return redis.call('get', 'nope')", "0"],
        ["EVAL", "return type(redis.call('get', 'nope'))", "0"], ["EVAL", "return redis.call('incr', 'n')", "0"],
        ["EVAL", "return type(redis.call('incr', 'n'))", "0"], ["EVAL", "return redis.call('lrange', 'l', 0, -1)", "0"],
        ["EVAL", "return redis.call('set', 'k', 'v')", "0"], ["EVAL", "local r = redis.call('set', 'k', 'v') return r.ok", "0"],
        ["EVAL", "return redis.call('ping')", "0"], ["EVAL", "return redis.call('hgetall', 'h')", "0"],
        ["EVAL", "return redis.call('zscore', 'z', 'm')", "0"], ["EVAL", "return redis.call('blpop', 'nolist', 0)", "0"],
        ["EVAL", "return redis.call('smembers', 'st')", "0"], ["EVAL", "return redis.call('expire', 's', 1.5)", "0"],
        ["EVAL", "return redis.call('incrby', 'n', 2.0)", "0"], ["EVAL", "return redis.call('set', 'f', 0.1)", "0"], ["GET", "f"],
        // RESP3 inside the script
        ["EVAL", "redis.setresp(3) return redis.call('hgetall', 'h')", "0"], ["EVAL", "redis.setresp(3) return redis.call('smembers', 'st')", "0"],
        ["EVAL", "redis.setresp(3) return redis.call('zscore', 'z', 'm')", "0"], ["EVAL", "redis.setresp(3) return redis.call('get', 'nope')", "0"],
        ["EVAL", "redis.setresp(3) return type(redis.call('get', 'nope'))", "0"], ["EVAL", "redis.setresp(3) return true", "0"],
        ["EVAL", "redis.setresp(3) return false", "0"], ["EVAL", "redis.setresp(3) return redis.call('hgetall', 'h').map.f", "0"],
        ["EVAL", "redis.setresp(3) return redis.call('zscore', 'z', 'm').double", "0"], ["EVAL", "redis.setresp(4)", "0"],
        ["EVAL", "redis.setresp()", "0"],
        // errors
        ["EVAL", "return redis.call('nosuch')", "0"], ["EVAL", "return redis.call('incr', 's')", "0"],
        ["EVAL", "local x = redis.call('incr', 's')\nreturn x", "0"], ["EVAL", "\n\nreturn redis.call('get')", "0"],
        ["EVAL", "return redis.pcall('incr', 's')", "0"], ["EVAL", "return redis.pcall('nosuch')", "0"],
        ["EVAL", "local ok, e = pcall(redis.call, 'incr', 's') return e", "0"], ["EVAL", "return {pcall(redis.call, 'incr', 's')}", "0"],
        ["EVAL", "pcall(redis.call, 'incr', 's') return redis.call('incr', 's')", "0"],
        ["EVAL", "return redis.call('eval', 'return 1', 0)", "0"], ["EVAL", "return redis.call({})", "0"], ["EVAL", "return redis.call()", "0"],
        ["EVAL", "return redis.call('config', 'nosuch')", "0"], ["EVAL", "return redis.call('config')", "0"],
        ["EVAL", "error('boom')", "0"], ["EVAL", "error({err='MY boom'})", "0"], ["EVAL", "error()", "0"], ["EVAL", "return 1 +", "0"],
        ["EVAL", "return nosuchvar", "0"], ["EVAL", "x = 5", "0"], ["EVAL", "string.foo = 1", "0"], ["EVAL", "redis.call = nil", "0"],
        ["EVAL", "local x = redis.sha1hex() return x", "0"],
        ["EVAL", "return 1", "-1"], ["EVAL", "return 1", "2", "a"], ["EVAL", "return 1", "x"], ["EVAL", "return 1"],
        ["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"], ["EVALSHA", "short", "0"],
        // sandbox and the 5.1 names
        ["EVAL", "return {type(os), type(io), type(print), type(require), type(dofile), type(loadfile)}", "0"],
        ["EVAL", "return {type(unpack), type(loadstring), type(table.getn), type(math.mod), type(cjson), type(cmsgpack), type(bit), type(struct)}", "0"],
        ["EVAL", "return unpack({1,2})", "0"], ["EVAL", "return table.getn({1,2,3})", "0"], ["EVAL", "return loadstring('return 7')()", "0"],
        ["EVAL", "return redis.sha1hex('')", "0"], ["EVAL", "return redis.sha1hex(123)", "0"], ["EVAL", "return redis.REDIS_VERSION", "0"],
        ["EVAL", "return redis.REDIS_VERSION_NUM", "0"], ["EVAL", "return redis.replicate_commands()", "0"], ["EVAL", "return redis.breakpoint()", "0"],
        ["EVAL", "return redis.LOG_WARNING", "0"], ["EVAL", "redis.log(redis.LOG_DEBUG, 'x') return 1", "0"], ["EVAL", "redis.log(9, 'x')", "0"],
        ["EVAL", "redis.log(1)", "0"], ["EVAL", "return redis.set_repl(redis.REPL_ALL)", "0"], ["EVAL", "redis.set_repl(9)", "0"],
        ["EVAL", "return math.random(100)", "0"], ["EVAL", "math.randomseed(7) return {math.random(1000), math.random(5, 9)}", "0"],
        ["EVAL", "return redis.acl_check_cmd('get', 'x')", "0"], ["EVAL", "local x = redis.acl_check_cmd('nosuch') return x", "0"],
        // cjson
        ["EVAL", "return cjson.encode({1,2,'a',{x=1}})", "0"], ["EVAL", "return cjson.encode({})", "0"], ["EVAL", "return cjson.encode('a/b\"c\\n')", "0"],
        ["EVAL", "return cjson.encode(1.5)", "0"], ["EVAL", "return cjson.encode(1e20)", "0"], ["EVAL", "return cjson.encode(0.1)", "0"],
        ["EVAL", "return cjson.encode({[1]=1,[3]=3})", "0"], ["EVAL", "local t = {} t[20] = 1 local x = cjson.encode(t) return x", "0"],
        ["EVAL", "return cjson.encode(cjson.null)", "0"], ["EVAL", "return cjson.encode({a={b={c={true,false}}}})", "0"],
        ["EVAL", "return cjson.decode('[1,2,{\"a\":[true,false,null]}]')[3].a[1]", "0"],
        ["EVAL", "return cjson.decode('\"\\\\u00e9\\\\ud83d\\\\ude00\"')", "0"], ["EVAL", "return cjson.decode('1.5e3')", "0"],
        ["EVAL", "return cjson.decode('null') == cjson.null", "0"], ["EVAL", "return cjson.decode(cjson.encode({a='b'})).a", "0"],
        ["EVAL", "local x = cjson.decode('{') return x", "0"], ["EVAL", "local x = cjson.decode('[1,2') return x", "0"],
        ["EVAL", "local x = cjson.encode(function() end) return x", "0"], ["EVAL", "local x = cjson.decode('[1] x') return x", "0"],
        // cmsgpack
        ["EVAL", "return cmsgpack.pack('abc', {1,2}, 127, -1, -33, 300, 70000, 5000000000, 1.5, 0.1, true, false)", "0"],
        ["EVAL", "return cmsgpack.pack({a='b'})", "0"], ["EVAL", "return cmsgpack.pack(string.rep('x', 40), string.rep('y', 300))", "0"],
        ["EVAL", "return {cmsgpack.unpack(cmsgpack.pack({1,2,3}, 'x', 12345678901, -7))}", "0"],
        ["EVAL", "return cmsgpack.unpack(cmsgpack.pack({a='b'})).a", "0"], ["EVAL", "local t = {} for i=1,20 do t[i]=i end return cmsgpack.pack(t)", "0"],
        ["EVAL", "local x = cmsgpack.pack() return x", "0"],
        // bit
        ["EVAL", "return {bit.band(0xff, 0x0f), bit.bor(1, 2, 4), bit.bxor(5, 1), bit.bnot(0), bit.lshift(1, 31), bit.rshift(-1, 28)}", "0"],
        ["EVAL", "return {bit.arshift(-256, 4), bit.rol(0x12345678, 8), bit.ror(0x12345678, 8), bit.bswap(0x12345678), bit.tobit(2^32 + 5)}", "0"],
        ["EVAL", "return {bit.tohex(-1), bit.tohex(255, -4), bit.tohex(255, 2), bit.tobit(1.5), bit.tobit(2.5), bit.tobit('12')}", "0"],
        ["EVAL", "local x = bit.band() return x", "0"],
        // struct
        ["EVAL", "return struct.pack('>I4', 65)", "0"], ["EVAL", "return {struct.unpack('>I2I2', struct.pack('>I2I2', 513, 7))}", "0"],
        ["EVAL", "return struct.pack('<h', -2)", "0"], ["EVAL", "return struct.size('>iI2d')", "0"], ["EVAL", "return struct.pack('s', 'ab')", "0"],
        ["EVAL", "return {struct.unpack('b', 'x')}", "0"], ["EVAL", "return {struct.unpack('>d', struct.pack('>d', 1.25))}", "0"],
        // shebang flags and read-only variants
        ["EVAL", "#!lua flags=no-writes\nreturn redis.call('set', 'x', 1)", "0"], ["EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 's')", "0"],
        ["EVAL", "#!lua\nreturn 1", "0"], ["EVAL", "#!lua flags=bad\nreturn 1", "0"], ["EVAL", "#!lua foo=bar\nreturn 1", "0"],
        ["EVAL", "#!js\nreturn 1", "0"], ["EVAL", "#!lua", "0"], ["EVAL", "#!lua flags=\nreturn 2", "0"],
        ["EVAL_RO", "return redis.call('get', 's')", "0"], ["EVAL_RO", "return redis.call('set', 's', 'b')", "0"],
        ["EVAL_RO", "#!lua\nreturn 1", "0"], ["EVAL_RO", "#!lua flags=no-writes\nreturn redis.call('get', 's')", "0"],
        ["EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
        // script cache
        ["SCRIPT", "LOAD", "return 'cached'"], ["EVALSHA", "2a8d18b8bd36e8e1ed47a0b3f0b3a8e8a1a0f7d5", "0"],
        ["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "ffffffffffffffffffffffffffffffffffffffff"],
        ["SCRIPT", "LOAD", "return 1 +"], ["SCRIPT", "LOAD"], ["SCRIPT", "EXISTS"], ["SCRIPT", "FLUSH", "bad"], ["SCRIPT", "KILL"],
        ["SCRIPT", "HELP"], ["SCRIPT", "DEBUG", "bad"], ["SCRIPT", "DEBUG", "no"], ["SCRIPT", "nosuch"], ["SCRIPT", "FLUSH", "async"],
        ["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"], ["SCRIPT", "FLUSH"],
        // scripts inside MULTI: queued, run at EXEC, their errors in EXEC's array
        ["MULTI"], ["EVAL", "return redis.call('incr', 'n')", "0"], ["EVAL", "return redis.call('nosuch')", "0"],
        ["EVALSHA", "ffffffffffffffffffffffffffffffffffffffff", "0"], ["EVAL", "return {1, 'two', {err='E x'}}", "0"],
        ["SCRIPT", "LOAD", "return 5"], ["EVALSHA", "4ca238f611c9d0ae4e9a75a5dbac22aedc379801", "0"], ["EXEC"],
        ["MULTI"], ["EVAL", "return 1", "x"], ["EXEC"],
        // SELECT inside a script stays inside it
        ["EVAL", "redis.call('select', 1) redis.call('set', 'indb1', 'v') return redis.call('get', 'indb1')", "0"], ["GET", "indb1"],
    ];

    private static readonly string[][] Functions =
    [
        ["FUNCTION", "LOAD", "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return {keys[1], args[1]} end)"],
        ["FUNCTION", "LOAD", "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return keys[1] end)"],
        ["FUNCTION", "LOAD", "REPLACE", "#!lua name=lib1\nredis.register_function('f1', function(keys, args) return {keys[1], args[1]} end)"],
        ["FCALL", "f1", "1", "k", "a"], ["FCALL_RO", "f1", "1", "k", "a"], ["FCALL", "nosuch", "0"], ["FCALL", "f1", "x"], ["FCALL", "f1", "-1"],
        ["FCALL", "f1", "5", "a"],
        ["FUNCTION", "LOAD", "#!lua name=lib2\nredis.register_function{function_name='f2', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end, flags={'no-writes', 'allow-oom'}, description='desc'}"],
        ["FCALL", "f2", "1", "a", "b"],
        ["FUNCTION", "LOAD", "#!lua name=lib3\nredis.register_function{function_name='f3', callback=function(keys, args) return redis.call('set', keys[1], args[1]) end}"],
        ["FCALL", "f3", "1", "a", "b"], ["FCALL_RO", "f3", "1", "a", "b"], ["GET", "a"],
        ["FUNCTION", "LOAD", "#!lua name=lib4\nredis.register_function('f4', function() error('bad') end)"], ["FCALL", "f4", "0"],
        ["FUNCTION", "LIST", "LIBRARYNAME", "lib2"], ["FUNCTION", "LIST", "LIBRARYNAME", "lib1", "WITHCODE"], ["FUNCTION", "LIST", "LIBRARYNAME"],
        ["FUNCTION", "LIST", "BAD"], ["FUNCTION", "STATS"],
        ["FUNCTION", "LOAD", "#!lua name=lib5\nredis.register_function('f1', function() return 1 end)"],
        ["FUNCTION", "LOAD", "#!lua name=lib5\nredis.register_function()"], ["FUNCTION", "LOAD", "#!lua name=lib5\nerror('x')"],
        ["FUNCTION", "LOAD", "#!lua name=lib5\nreturn 1"], ["FUNCTION", "LOAD", "#!lua name=lib5\nlocal x = string.format('%d', 1)"],
        ["FUNCTION", "LOAD", "#!lua name=lib5\nredis.call('ping')"], ["FUNCTION", "LOAD", "lua name=x"], ["FUNCTION", "LOAD", "#!lua name=x"],
        ["FUNCTION", "LOAD", "#!lua x=y\n"], ["FUNCTION", "LOAD", "#!js name=x\n"], ["FUNCTION", "LOAD", "#!lua name=a-b\n"],
        ["FUNCTION", "LOAD", "#!lua name=x\nfoo("], ["FUNCTION", "LOAD", "#!lua name=x\n"], ["FUNCTION", "LOAD", "#!lua\n"],
        ["FUNCTION", "LOAD", "#!lua name=x name=y\n"],
        ["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('a b', function() end)"],
        ["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='x', callback=function() end, flags={'bad'}}"],
        ["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{function_name='x', callback=1}"],
        ["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function{callback=function() end}"],
        ["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('x', function() end) redis.register_function('x', function() end)"],
        ["FUNCTION", "LOAD", "#!lua name=x\nredis.register_function(1, 2, 3)"], ["FUNCTION", "LOAD", "REPLACE", "x"], ["FUNCTION", "LOAD", "foo", "x"],
        ["FUNCTION", "LOAD", "#!lua name=x\nredis.log(redis.LOG_NOTICE, 'loading') redis.register_function('x', function() return redis.REDIS_VERSION end)"],
        ["FCALL", "x", "0"],
        ["FUNCTION", "DELETE", "lib1"], ["FUNCTION", "DELETE", "lib1"], ["FCALL", "f1", "0"], ["FUNCTION", "FLUSH", "bad"],
        ["FUNCTION", "FLUSH", "a", "b"], ["FUNCTION", "FLUSH"], ["FUNCTION", "LIST"], ["FUNCTION", "STATS"], ["FUNCTION", "KILL"],
        ["FUNCTION", "HELP"], ["FUNCTION", "nosuch"],
        // FUNCTION LOAD's 500 ms limit, which a pcall in the library cannot swallow; the next load sees the usual API
        ["FUNCTION", "LOAD", "#!lua name=slow\nwhile 1 do end"],
        ["FUNCTION", "LOAD", "#!lua name=slow\nlocal ok = pcall(function() while 1 do end end)\nredis.register_function('slow', function() return 1 end)"],
        ["FUNCTION", "LIST", "LIBRARYNAME", "slow"],
        ["FUNCTION", "LOAD", "#!lua name=after\nredis.register_function('after', function() return redis.call('ping') end)"], ["FCALL", "after", "0"], ["FUNCTION", "DELETE", "after"],
        ["FUNCTION", "LOAD", "#!lua name=d\nredis.register_function('d', function() return 1 end)"], ["FUNCTION", "DUMP"],
        ["FUNCTION", "RESTORE", "bad"], ["FUNCTION", "RESTORE", "bad", "NOPE"], ["FUNCTION", "RESTORE", "a", "b", "c"],
    ];

    /// <summary>
    /// Out of memory (maxmemory 1, noeviction): a script may not start writing (scriptVerifyOOM), a shebang script
    /// without allow-oom or no-writes is refused before it runs, allow-oom lets it write (MULTI
    /// under OOM is MaxMemoryTests': the harness's ECHO marker would be refused inside it).
    /// </summary>
    private static readonly string[][] OutOfMemory =
    [
        ["SET", "k", "v"],
        ["FUNCTION", "LOAD", "#!lua name=oom\nredis.register_function('w', function(keys) return redis.call('set', keys[1], 'x') end)\n" +
            "redis.register_function{function_name='wo', callback=function(keys) return redis.call('set', keys[1], 'x') end, flags={'allow-oom'}}\n" +
            "redis.register_function{function_name='r', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}"],
        ["CONFIG", "SET", "maxmemory-policy", "noeviction"], ["CONFIG", "SET", "maxmemory", "1"],
        ["SET", "a", "b"], ["GET", "k"], ["DEL", "nosuch"],
        ["EVAL", "return redis.call('set', 'a', 'b')", "0"], ["EVAL", "return redis.pcall('set', 'a', 'b')", "0"],
        ["EVAL", "local e = redis.pcall('set', 'a', 'b') return e.err", "0"], ["EVAL", "return redis.call('get', 'k')", "0"],
        ["EVAL", "return redis.call('del', 'nosuch')", "0"], ["EVAL", "redis.call('del', 'nosuch') return redis.call('set', 'a', 'b')", "0"],
        ["EVAL", "#!lua\nreturn redis.call('get', 'k')", "0"], ["EVAL", "#!lua flags=no-writes\nreturn redis.call('get', 'k')", "0"],
        ["EVAL", "#!lua flags=allow-oom\nreturn redis.call('set', 'a', 'c')", "0"], ["GET", "a"],
        ["FCALL", "w", "1", "a"], ["FCALL", "wo", "1", "a"], ["FCALL", "r", "1", "a"], ["FCALL_RO", "r", "1", "a"],
        ["CONFIG", "SET", "maxmemory", "0"],
    ];

    /// <summary>FUNCTION DUMP's payload restores (FLUSH, APPEND with its collision error, REPLACE).</summary>
    [Fact]
    public void FunctionDumpRestoreRoundTrip()
    {
        using var h = new CommandHarness();
        Assert.Equal(CommandHarness.Bulk("r"), h.Run("FUNCTION", "LOAD", "#!lua name=r\nredis.register_function('rf', function(keys, args) return args[1] end)"));
        byte[] dump = h.Execute("FUNCTION"u8.ToArray(), "DUMP"u8.ToArray());
        int header = Array.IndexOf(dump, (byte)'\n') + 1;
        byte[] payload = dump[header..^2];
        Assert.Equal(CommandHarness.Ok, h.Run("FUNCTION", "FLUSH"));
        Assert.Equal(CommandHarness.Err("ERR Function not found"), h.Run("FCALL", "rf", "0", "x"));
        Assert.Equal(CommandHarness.Ok, System.Text.Encoding.UTF8.GetString(h.Execute("FUNCTION"u8.ToArray(), "RESTORE"u8.ToArray(), payload)));
        Assert.Equal(CommandHarness.Bulk("x"), h.Run("FCALL", "rf", "0", "x"));
        Assert.Equal(CommandHarness.Err("ERR Library r already exists"),
            System.Text.Encoding.UTF8.GetString(h.Execute("FUNCTION"u8.ToArray(), "RESTORE"u8.ToArray(), payload)));
        Assert.Equal(CommandHarness.Ok, System.Text.Encoding.UTF8.GetString(h.Execute("FUNCTION"u8.ToArray(), "RESTORE"u8.ToArray(), payload, "REPLACE"u8.ToArray())));
        Assert.Equal(CommandHarness.Ok, System.Text.Encoding.UTF8.GetString(h.Execute("FUNCTION"u8.ToArray(), "RESTORE"u8.ToArray(), payload, "FLUSH"u8.ToArray())));
        Assert.Equal(CommandHarness.Bulk("y"), h.Run("FCALL", "rf", "0", "y"));
        payload[^1] ^= 1;
        Assert.Equal(CommandHarness.Err("ERR DUMP payload version or checksum are wrong"),
            System.Text.Encoding.UTF8.GetString(h.Execute("FUNCTION"u8.ToArray(), "RESTORE"u8.ToArray(), payload)));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void EvalRepliesMatchRedisServer(int protocol) => Compare(protocol, Eval);

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    public void FunctionRepliesMatchRedisServer(int protocol) => Compare(protocol, Functions);

    [Fact]
    public void OutOfMemoryScriptsMatchRedisServer() => Compare(2, OutOfMemory);

    private static void Compare(int protocol, string[][] script) => ReferenceRedis.AssertSameReplies(script, protocol);
}
