using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Demikernel.Server.Commands;
using Demikernel.Server.Store;

namespace Demikernel.Server.Diagnostics;

/// <summary>
/// DEBUG subcommands about redis's encodings that mean something here (redis-server 7.0's debug.c):
/// QUICKLIST-PACKED-THRESHOLD (the size from which a list element is a plain quicklist node of its own: how the RDB
/// and DUMP cut a list, and the list's free effort), LISTPACK key (lpRepr of a listpack-encoded hash or sorted set,
/// printed on stdout), STRINGMATCH-TEST (redis's fuzz of its glob matcher, run on ours), and two test switches:
/// SET-SKIP-CHECKSUM-VALIDATION (RESTORE, FUNCTION RESTORE and RDB loading skip the CRC64) and SET-DISABLE-DENY-SCRIPTS
/// (scripts may call noscript commands).
/// </summary>
internal static class DebugEncodingCommands
{
    /// <summary>Runs one of these subcommands; false when it is not one of them (or has the wrong arity).</summary>
    public static bool TryRun(ref CommandContext c)
    {
        if (c.Count == 3 && c.ArgIs(1, "QUICKLIST-PACKED-THRESHOLD"u8)) PackedThreshold(ref c);
        else if (c.Count == 3 && c.ArgIs(1, "LISTPACK"u8)) Listpack(ref c);
        else if (c.Count == 2 && c.ArgIs(1, "STRINGMATCH-TEST"u8)) StringMatchTest(ref c);
        else if (c.Count == 3 && c.ArgIs(1, "SET-SKIP-CHECKSUM-VALIDATION"u8))
        {
            c.Server.Diagnostics.SkipChecksumValidation = DebugCommands.Atoi(c.Arg(2)) != 0;
            c.Reply.Ok();
        }
        else if (c.Count == 3 && c.ArgIs(1, "SET-DISABLE-DENY-SCRIPTS"u8))
        {
            c.Server.Diagnostics.DisableDenyScripts = DebugCommands.Atoi(c.Arg(2)) != 0;
            c.Reply.Ok();
        }
        else return false;
        return true;
    }

    /// <summary>memtoull's value, refused above 4 GB - 1 MB (quicklistisSetPackedThreshold); 0 restores 1 GB.</summary>
    private static void PackedThreshold(ref CommandContext c)
    {
        long? size = ServerConfig.ParseMemory(c.ArgString(2));
        if (size is not { } bytes || bytes < 0 || bytes > (1L << 32) - (1 << 20))
        {
            c.Reply.Error("ERR argument must be a memory value bigger than 1 and smaller than 4gb");
            return;
        }
        EncodingLimits.Current.ListPackedThreshold = bytes == 0 ? 1L << 30 : bytes;
        c.Reply.Ok();
    }

    /// <summary>DEBUG LISTPACK key: the listpack redis-server would hold (the one our RDB writes), in lpRepr's format,
    /// on stdout; "addr" is the element's offset in that listpack (there is no C pointer to show).</summary>
    private static void Listpack(ref CommandContext c)
    {
        var e = c.Db.FindObject(c.Arg(2), LookupFlags.NoTouch, out bool compactString);
        if (e is null && !compactString)
        {
            c.Reply.Error("ERR no such key");
            return;
        }
        if (e is null || e.Encoding != "listpack")
        {
            c.Reply.Error("ERR Not a listpack encoded object.");
            return;
        }
        Console.Out.Write(ReprOf(e));
        Console.Out.Flush();
        c.Reply.SimpleString("Listpack structure printed on stdout"u8);
    }

    /// <summary>lpRepr of a listpack-encoded value (hash or sorted set), from the listpack our RDB writes for it.</summary>
    internal static string ReprOf(RedisEntry e)
    {
        byte[] dump = RdbFormat.Dump(e, compress: false); // type, then the listpack as an RDB string
        ReadOnlySpan<byte> value = dump.AsSpan(1);
        int length = ReadLength(ref value);
        return Repr(value[..length]);
    }

    private static int ReadLength(ref ReadOnlySpan<byte> s)
    {
        int kind = s[0] >> 6;
        int n;
        switch (kind)
        {
            case 0: n = s[0] & 0x3F; s = s[1..]; break;
            case 1: n = ((s[0] & 0x3F) << 8) | s[1]; s = s[2..]; break;
            default: n = (int)BinaryPrimitives.ReadUInt32BigEndian(s[1..]); s = s[5..]; break; // no listpack is 4 GB
        }
        return n;
    }

    /// <summary>listpack.c's lpRepr text of a complete listpack.</summary>
    internal static string Repr(ReadOnlySpan<byte> lp)
    {
        var sb = new StringBuilder();
        int entries = BinaryPrimitives.ReadUInt16LittleEndian(lp[4..]);
        sb.Append(CultureInfo.InvariantCulture, $"{{total bytes {lp.Length}}} {{num entries {entries}}}\n");
        int p = 6, index = 0;
        while (p < lp.Length && lp[p] != 0xFF)
        {
            Element(lp[p..], out int header, out int encoded, out string text);
            int backLength = encoded <= 127 ? 1 : encoded < 16383 ? 2 : encoded < 2097151 ? 3 : encoded < 268435455 ? 4 : 5;
            sb.Append(CultureInfo.InvariantCulture,
                $"{{\n\taddr: 0x{p:x8},\n\tindex: {index,2},\n\toffset: {p},\n\thdr+entrylen+backlen: {encoded + backLength,2},\n\thdrlen: {header,3},\n\tbacklen: {backLength,2},\n\tpayload: {encoded - header}\n");
            sb.Append("\tbytes: ");
            for (int i = 0; i < encoded + backLength; i++) sb.Append(CultureInfo.InvariantCulture, $"{lp[p + i]:x2}|");
            sb.Append("\n\t[str]");
            sb.Append(text.Length > 40 ? text[..40] + "..." : text);
            sb.Append("\n}\n");
            index++;
            p += encoded + backLength;
        }
        sb.Append("{end}\n\n");
        return sb.ToString();
    }

    /// <summary>One element: its header bytes, encoded size (without the back-length) and value as lpGet gives it.</summary>
    private static void Element(ReadOnlySpan<byte> e, out int header, out int encoded, out string text)
    {
        byte b = e[0];
        long v;
        if ((b & 0x80) == 0) (header, encoded, v) = (1, 1, b & 0x7F);
        else if ((b & 0xC0) == 0x80)
        {
            int len = b & 0x3F;
            (header, encoded) = (1, 1 + len);
            text = Encoding.Latin1.GetString(e.Slice(1, len));
            return;
        }
        else if ((b & 0xE0) == 0xC0) (header, encoded, v) = (1, 2, SignExtend(((b & 0x1F) << 8) | e[1], 13));
        else if ((b & 0xF0) == 0xE0)
        {
            int len = ((b & 0x0F) << 8) | e[1];
            (header, encoded) = (2, 2 + len);
            text = Encoding.Latin1.GetString(e.Slice(2, len));
            return;
        }
        else if (b == 0xF0)
        {
            int len = (int)BinaryPrimitives.ReadUInt32LittleEndian(e[1..]);
            (header, encoded) = (5, 5 + len);
            text = Encoding.Latin1.GetString(e.Slice(5, len));
            return;
        }
        else if (b == 0xF1) (header, encoded, v) = (1, 3, BinaryPrimitives.ReadInt16LittleEndian(e[1..]));
        else if (b == 0xF2) (header, encoded, v) = (1, 4, SignExtend(e[1] | (e[2] << 8) | (e[3] << 16), 24));
        else if (b == 0xF3) (header, encoded, v) = (1, 5, BinaryPrimitives.ReadInt32LittleEndian(e[1..]));
        else (header, encoded, v) = (1, 9, BinaryPrimitives.ReadInt64LittleEndian(e[1..]));
        text = v.ToString(CultureInfo.InvariantCulture);
    }

    private static long SignExtend(int value, int bits) => ((long)value << (64 - bits)) >> (64 - bits);

    /// <summary>redis's stringmatchlen_fuzz_test on our glob matcher: 10,000,000 random patterns and strings of up to
    /// 31 bytes of 0..127 (it only has to neither crash nor hang); the match count is printed on stdout.</summary>
    private static void StringMatchTest(ref CommandContext c)
    {
        var rng = new Random();
        Span<byte> text = stackalloc byte[32];
        Span<byte> pattern = stackalloc byte[32];
        long matches = 0;
        for (int cycle = 0; cycle < 10_000_000; cycle++)
        {
            int textLength = rng.Next(32), patternLength = rng.Next(32);
            for (int j = 0; j < textLength; j++) text[j] = (byte)rng.Next(128);
            for (int j = 0; j < patternLength; j++) pattern[j] = (byte)rng.Next(128);
            if (Glob.IsMatch(pattern[..patternLength], text[..textLength])) matches++;
        }
        Console.Out.WriteLine(matches.ToString(CultureInfo.InvariantCulture));
        c.Reply.SimpleString("Apparently Redis did not crash: test passed"u8);
    }
}
