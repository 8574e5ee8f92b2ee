using System.Buffers.Text;
using Demikernel.Resp;
using Demikernel.Server.Interop;

namespace Demikernel.Server.Scripting;

/// <summary>
/// The two conversions of redis-server's script_lua.c: a command's RESP reply to a Lua value
/// (redisProtocolToLuaType) and a script's Lua result to a reply (luaReplyToRedisReply).
/// <code>
///  RESP2/RESP3 reply          Lua                        Lua result                  reply
///  :n                 ─▶ integer               string                ─▶ bulk
///  $s / $-1 / *-1     ─▶ string / false / false boolean (script RESP2) ─▶ :1 / null;  RESP3 ─▶ #t / #f
///  +s                 ─▶ {ok=s}                number                ─▶ integer (truncated)
///  -s                 ─▶ {err=s}               {err=s} {ok=s}        ─▶ -s / +s
///  *n                 ─▶ array table           {double=d} {big_number=s} {verbatim_string={format,string}}
///  %n ~n (RESP3)      ─▶ {map={}} {set={}}     {map={...}} {set={...}} ─▶ map / set (RESP2 callers: arrays)
///  , ( = # _          ─▶ {double} {big_number} {verbatim_string} boolean nil
///  |attributes        ─▶ skipped               array table           ─▶ up to the first nil;  others ─▶ null
/// </code>
/// </summary>
internal static class LuaReplies
{
    private const int MaxDepth = 1000; // nested Lua tables deeper than this get "reached lua stack limit", as in redis

    // ---------------------------------------------------------------- RESP -> Lua

    /// <summary>Pushes the Lua value of the reply in <paramref name="frame"/> (one complete RESP value).</summary>
    public static void PushReply(nint l, ReadOnlySpan<byte> frame)
    {
        var reader = new RespReader(frame);
        reader.Read();
        PushValue(l, ref reader);
    }

    private static void PushValue(nint l, ref RespReader r)
    {
        _ = LuaNative.CheckStack(l, 4);
        switch (r.Prefix)
        {
            case RespPrefix.Integer:
                LuaNative.PushInteger(l, r.ReadInt64());
                break;
            case RespPrefix.BulkString:
                if (r.IsNull) LuaNative.PushBoolean(l, 0);
                else LuaNative.PushBytes(l, r.Value);
                break;
            case RespPrefix.SimpleString:
                LuaNative.CreateTable(l, 0, 1);
                LuaNative.PushBytes(l, r.Value);
                LuaNative.RawSetField(l, -2, "ok"u8);
                break;
            case RespPrefix.SimpleError:
            case RespPrefix.BulkError:
                PushErrorTable(l, r.Value, fromReply: true);
                break;
            case RespPrefix.Array:
            case RespPrefix.Push:
            {
                if (r.IsNull)
                {
                    LuaNative.PushBoolean(l, 0);
                    break;
                }
                int n = r.AggregateLength;
                LuaNative.CreateTable(l, n, 0);
                for (int i = 1; i <= n; i++)
                {
                    ReadChild(ref r);
                    PushValue(l, ref r);
                    LuaNative.RawSetI(l, -2, i);
                }
                break;
            }
            case RespPrefix.Map:
            {
                int pairs = r.AggregateLength / 2;
                LuaNative.CreateTable(l, 0, 1);
                LuaNative.PushBytes(l, "map"u8);
                LuaNative.CreateTable(l, 0, pairs);
                for (int i = 0; i < pairs; i++)
                {
                    ReadChild(ref r);
                    PushValue(l, ref r);
                    ReadChild(ref r);
                    PushValue(l, ref r);
                    SetIfKey(l);
                }
                LuaNative.RawSet(l, -3);
                break;
            }
            case RespPrefix.Set:
            {
                int n = r.AggregateLength;
                LuaNative.CreateTable(l, 0, 1);
                LuaNative.PushBytes(l, "set"u8);
                LuaNative.CreateTable(l, 0, n);
                for (int i = 0; i < n; i++)
                {
                    ReadChild(ref r);
                    PushValue(l, ref r);
                    LuaNative.PushBoolean(l, 1);
                    SetIfKey(l);
                }
                LuaNative.RawSet(l, -3);
                break;
            }
            case RespPrefix.Null:
                LuaNative.PushNil(l);
                break;
            case RespPrefix.Boolean:
                LuaNative.PushBoolean(l, r.ReadBoolean() ? 1 : 0);
                break;
            case RespPrefix.Double:
                LuaNative.CreateTable(l, 0, 1);
                LuaNative.PushNumber(l, r.ReadDouble());
                LuaNative.RawSetField(l, -2, "double"u8);
                break;
            case RespPrefix.BigNumber:
                LuaNative.CreateTable(l, 0, 1);
                LuaNative.PushBytes(l, r.Value);
                LuaNative.RawSetField(l, -2, "big_number"u8);
                break;
            case RespPrefix.VerbatimString:
                LuaNative.CreateTable(l, 0, 1);
                LuaNative.PushBytes(l, "verbatim_string"u8);
                LuaNative.CreateTable(l, 0, 2);
                LuaNative.PushBytes(l, r.Value);
                LuaNative.RawSetField(l, -2, "string"u8);
                LuaNative.PushBytes(l, r.VerbatimFormat);
                LuaNative.RawSetField(l, -2, "format"u8);
                LuaNative.RawSet(l, -3);
                break;
            case RespPrefix.Attribute:
                r.SkipChildren();
                r.Read();
                PushValue(l, ref r);
                break;
            default:
                LuaNative.PushNil(l);
                break;
        }
    }

    /// <summary>Moves to the next child value, skipping attributes (not shown to scripts).</summary>
    private static void ReadChild(ref RespReader r) => r.Read();

    /// <summary>t[k] = v with key and value on the stack; a nil key (RESP3 null) is dropped, as Lua cannot hold it.</summary>
    private static void SetIfKey(nint l)
    {
        if (LuaNative.Type(l, -2) == LuaNative.TNil)
        {
            LuaNative.Pop(l, 2);
            return;
        }
        LuaNative.RawSet(l, -3);
    }

    /// <summary>
    /// Pushes {err="CODE message"} as luaPushErrorBuff builds it: text starting with '-' keeps its code (the first
    /// word), other text gets ERR; CR/LF are trimmed from the message's ends.
    /// </summary>
    public static void PushErrorTable(nint l, ReadOnlySpan<byte> text, bool fromReply)
    {
        Span<byte> scratch = stackalloc byte[256];
        byte[]? rented = null;
        int need = text.Length + 8;
        var buffer = need <= scratch.Length ? scratch : (rented = new byte[need]);
        ReadOnlySpan<byte> code, message;
        if (fromReply || (text.Length > 0 && text[0] == (byte)'-'))
        {
            var body = fromReply ? text : text[1..];
            int space = body.IndexOf((byte)' ');
            if (space < 0) { code = "ERR"u8; message = body; }
            else { code = body[..space]; message = body[(space + 1)..]; }
        }
        else
        {
            code = "ERR"u8;
            message = text;
        }
        message = message.Trim("\r\n"u8);
        int nul = message.IndexOf((byte)0); // lua_pushstring stops at a NUL
        if (nul >= 0) message = message[..nul];
        code.CopyTo(buffer);
        buffer[code.Length] = (byte)' ';
        message.CopyTo(buffer[(code.Length + 1)..]);
        LuaNative.CreateTable(l, 0, 1);
        LuaNative.PushBytes(l, buffer[..(code.Length + 1 + message.Length)]);
        LuaNative.RawSetField(l, -2, "err"u8);
        _ = rented;
    }

    // ---------------------------------------------------------------- Lua -> RESP

    /// <summary>Writes the value on the top of the stack as a reply and pops it.</summary>
    /// <param name="scriptResp3">The script switched its own protocol with redis.setresp(3) (booleans stay booleans).</param>
    public static void WriteReply(nint l, ReplyBuffer reply, bool scriptResp3) => Write(l, reply, scriptResp3, 0);

    private static void Write(nint l, ReplyBuffer reply, bool resp3, int depth)
    {
        if (depth > MaxDepth || LuaNative.CheckStack(l, 4) == 0)
        {
            reply.Error("ERR reached lua stack limit");
            LuaNative.Pop(l, 1);
            return;
        }
        switch (LuaNative.Type(l, -1))
        {
            case LuaNative.TString:
                reply.Bulk(LuaNative.ToSpan(l, -1));
                break;
            case LuaNative.TBoolean:
                bool b = LuaNative.ToBoolean(l, -1) != 0;
                if (!resp3)
                {
                    if (b) reply.Integer(1);
                    else reply.Null();
                }
                else reply.Boolean(b);
                break;
            case LuaNative.TNumber:
                reply.Integer(ToLongLong(l, -1));
                break;
            case LuaNative.TTable:
                WriteTable(l, reply, resp3, depth);
                return; // popped there
            default:
                reply.Null();
                break;
        }
        LuaNative.Pop(l, 1);
    }

    /// <summary>(long long)lua_Number as C on x86-64: truncation, and the "integer indefinite" value out of range.</summary>
    public static unsafe long ToLongLong(nint l, int index)
    {
        int isInt;
        long i = LuaNative.ToIntegerX(l, index, &isInt);
        if (isInt != 0 && LuaNative.IsInteger(l, index) != 0) return i;
        double d = LuaNative.ToNumber(l, index);
        if (double.IsNaN(d) || d >= 9223372036854775808.0 || d < -9223372036854775808.0) return long.MinValue;
        return (long)d;
    }

    private static void WriteTable(nint l, ReplyBuffer reply, bool resp3, int depth)
    {
        // {err=...}
        if (LuaNative.RawGetField(l, -1, "err"u8) == LuaNative.TString)
        {
            reply.Error(Sanitize(LuaNative.ToSpan(l, -1)));
            LuaNative.Pop(l, 2);
            return;
        }
        LuaNative.Pop(l, 1);
        if (LuaNative.RawGetField(l, -1, "ok"u8) == LuaNative.TString)
        {
            reply.SimpleString(Sanitize(LuaNative.ToSpan(l, -1)));
            LuaNative.Pop(l, 2);
            return;
        }
        LuaNative.Pop(l, 1);
        if (LuaNative.RawGetField(l, -1, "double"u8) == LuaNative.TNumber)
        {
            reply.Double(LuaNative.ToNumber(l, -1));
            LuaNative.Pop(l, 2);
            return;
        }
        LuaNative.Pop(l, 1);
        if (LuaNative.RawGetField(l, -1, "big_number"u8) == LuaNative.TString)
        {
            reply.BigNumber(Sanitize(LuaNative.ToSpan(l, -1)));
            LuaNative.Pop(l, 2);
            return;
        }
        LuaNative.Pop(l, 1);
        if (LuaNative.RawGetField(l, -1, "verbatim_string"u8) == LuaNative.TTable)
        {
            if (LuaNative.RawGetField(l, -1, "format"u8) == LuaNative.TString)
            {
                if (LuaNative.RawGetField(l, -2, "string"u8) == LuaNative.TString)
                {
                    var format = LuaNative.ToSpan(l, -2);
                    Span<byte> f3 = stackalloc byte[3];
                    f3.Fill((byte)' ');
                    format[..Math.Min(3, format.Length)].CopyTo(f3);
                    reply.Verbatim(f3, LuaNative.ToSpan(l, -1));
                    LuaNative.Pop(l, 4);
                    return;
                }
                LuaNative.Pop(l, 1);
            }
            LuaNative.Pop(l, 1);
        }
        LuaNative.Pop(l, 1);
        if (LuaNative.RawGetField(l, -1, "map"u8) == LuaNative.TTable)
        {
            int count = 0;
            LuaNative.PushNil(l);
            while (LuaNative.Next(l, -2) != 0)
            {
                count++;
                LuaNative.Pop(l, 1);
            }
            reply.MapHeader(count);
            LuaNative.PushNil(l);
            while (LuaNative.Next(l, -2) != 0)
            {
                LuaNative.PushValue(l, -2);
                Write(l, reply, resp3, depth + 1); // key
                Write(l, reply, resp3, depth + 1); // value
            }
            LuaNative.Pop(l, 2);
            return;
        }
        LuaNative.Pop(l, 1);
        if (LuaNative.RawGetField(l, -1, "set"u8) == LuaNative.TTable)
        {
            int count = 0;
            LuaNative.PushNil(l);
            while (LuaNative.Next(l, -2) != 0)
            {
                count++;
                LuaNative.Pop(l, 1);
            }
            reply.SetHeader(count);
            LuaNative.PushNil(l);
            while (LuaNative.Next(l, -2) != 0)
            {
                LuaNative.Pop(l, 1);
                LuaNative.PushValue(l, -1);
                Write(l, reply, resp3, depth + 1);
            }
            LuaNative.Pop(l, 2);
            return;
        }
        LuaNative.Pop(l, 1);
        // An array: elements 1..n up to the first nil.
        int length = 0;
        while (LuaNative.RawGetI(l, -1, length + 1) != LuaNative.TNil)
        {
            length++;
            LuaNative.Pop(l, 1);
        }
        LuaNative.Pop(l, 1);
        reply.ArrayHeader(length);
        for (int i = 1; i <= length; i++)
        {
            _ = LuaNative.RawGetI(l, -1, i);
            Write(l, reply, resp3, depth + 1);
        }
        LuaNative.Pop(l, 1);
    }

    /// <summary>CR and LF become spaces in status and error lines, as redis-server does (the reply stays parseable).</summary>
    private static ReadOnlySpan<byte> Sanitize(ReadOnlySpan<byte> text)
    {
        if (text.IndexOfAny((byte)'\r', (byte)'\n') < 0) return text;
        var copy = text.ToArray();
        for (int i = 0; i < copy.Length; i++)
            if (copy[i] is (byte)'\r' or (byte)'\n') copy[i] = (byte)' ';
        return copy;
    }

    /// <summary>A Lua number as redis.call's argument: integers exactly, floats as printf("%.17g").</summary>
    public static int FormatNumber(nint l, int index, Span<byte> destination)
    {
        if (LuaNative.IsInteger(l, index) != 0)
        {
            Utf8Formatter.TryFormat(LuaNative.ToInteger(l, index), destination, out int n);
            return n;
        }
        return FormatG17(LuaNative.ToNumber(l, index), destination);
    }

    /// <summary>printf("%.17g"): inf, -inf, nan, and e+XX exponents as C writes them.</summary>
    public static int FormatG17(double d, Span<byte> destination)
    {
        if (double.IsNaN(d)) return Copy(double.IsNegative(d) ? "-nan"u8 : "nan"u8, destination);
        if (double.IsPositiveInfinity(d)) return Copy("inf"u8, destination);
        if (double.IsNegativeInfinity(d)) return Copy("-inf"u8, destination);
        if (d == 0) return Copy(double.IsNegative(d) ? "-0"u8 : "0"u8, destination);
        string s = d.ToString("G17", System.Globalization.CultureInfo.InvariantCulture);
        int e = s.IndexOf('E');
        if (e >= 0) s = s[..e] + "e" + s[(e + 1)..];
        for (int i = 0; i < s.Length; i++) destination[i] = (byte)s[i];
        return s.Length;
    }

    private static int Copy(ReadOnlySpan<byte> s, Span<byte> destination)
    {
        s.CopyTo(destination);
        return s.Length;
    }
}
