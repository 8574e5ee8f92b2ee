using System.Numerics;
using System.Runtime.InteropServices;

namespace Demikernel.Server.Store;

/// <summary>
/// Bit-level access to string values (SETBIT, BITCOUNT, BITPOS, BITOP, BITFIELD). Bit 0 is the most significant bit
/// of byte 0, as in Redis; strings grow with zero bytes when a write reaches past their end.
/// </summary>
internal static class BitString
{
    /// <summary>
    /// Redis's lookupStringForBitCommand: the string entry of <paramref name="key"/>, grown with zero bytes to hold
    /// bit <paramref name="maxBit"/> (created when missing). WrongType when the key holds another type. The caller
    /// changes <see cref="RedisEntry.Bytes"/> in place and then calls <see cref="Touched"/>.
    /// </summary>
    public static StoreStatus GetForWrite(RedisDatabase db, ReadOnlySpan<byte> key, long maxBit, out RedisEntry? entry) =>
        GetForWrite(db, key, maxBit, out entry, out _);

    /// <summary>As above; <paramref name="grew"/> tells whether the string was created or lengthened (a change redis
    /// notifies as "setbit" even when no bit then changes).</summary>
    public static StoreStatus GetForWrite(RedisDatabase db, ReadOnlySpan<byte> key, long maxBit, out RedisEntry? entry, out bool grew)
    {
        grew = false;
        entry = db.Find(key);
        if (entry is not null && entry.Type != RedisType.String) return StoreStatus.WrongType;
        long needed = (maxBit >> 3) + 1;
        if (entry is null || entry.Length < needed)
        {
            // SETRANGE of one zero byte at the new last position: grows with zeros (sds preallocation), creates.
            ReadOnlySpan<byte> zero = [0];
            // announced without an event of its own: the command's "setbit" follows (a new key's "new" comes now)
            var status = db.SetRange(key, needed - 1, zero, long.MaxValue, out _, KeyEvent.None);
            if (status != StoreStatus.Ok) return status;
            grew = true;
            entry = db.Find(key)!;
        }
        return StoreStatus.Ok;
    }

    /// <summary>After an in-place change: the value is raw from now on (dbUnshareStringValue) and WATCH sees it.</summary>
    public static void Touched(RedisDatabase db, RedisEntry entry)
    {
        entry.Form = StringForm.Raw;
        db.NotifyModified(entry, KeyEvent.SetBit);
    }

    public static int GetBit(ReadOnlySpan<byte> s, long bit)
    {
        long b = bit >> 3;
        if (b >= s.Length) return 0;
        return (s[(int)b] >> (7 - (int)(bit & 7))) & 1;
    }

    /// <summary>Sets one bit (which must be inside <paramref name="s"/>) and returns its previous value.</summary>
    public static int SetBit(Span<byte> s, long bit, int on)
    {
        int b = (int)(bit >> 3);
        int shift = 7 - (int)(bit & 7);
        int old = (s[b] >> shift) & 1;
        s[b] = (byte)((s[b] & ~(1 << shift)) | (on << shift));
        return old;
    }

    public static long PopCount(ReadOnlySpan<byte> s)
    {
        long count = 0;
        var words = MemoryMarshal.Cast<byte, ulong>(s);
        foreach (ulong w in words) count += BitOperations.PopCount(w);
        for (int i = words.Length * 8; i < s.Length; i++) count += BitOperations.PopCount(s[i]);
        return count;
    }

    /// <summary>Set bits among bits [<paramref name="first"/>, <paramref name="last"/>] (inclusive, inside s).</summary>
    public static long PopCountBits(ReadOnlySpan<byte> s, long first, long last)
    {
        if (first > last) return 0;
        int fb = (int)(first >> 3), lb = (int)(last >> 3);
        int headMask = 0xFF >> (int)(first & 7);              // bits at and after 'first' in its byte
        int tailMask = (0xFF << (7 - (int)(last & 7))) & 0xFF; // bits up to and including 'last'
        if (fb == lb) return BitOperations.PopCount((uint)(s[fb] & headMask & tailMask));
        return BitOperations.PopCount((uint)(s[fb] & headMask)) + PopCount(s[(fb + 1)..lb]) +
               BitOperations.PopCount((uint)(s[lb] & tailMask));
    }

    /// <summary>The first bit equal to <paramref name="bit"/> among bits [first, last] of s, or -1.</summary>
    public static long FindBit(ReadOnlySpan<byte> s, int bit, long first, long last)
    {
        long pos = first;
        // head: bit by bit up to a byte boundary
        while (pos <= last && (pos & 7) != 0)
        {
            if (GetBit(s, pos) == bit) return pos;
            pos++;
        }
        // whole bytes
        byte skip = bit == 1 ? (byte)0 : (byte)0xFF;
        while (pos + 7 <= last)
        {
            int b = (int)(pos >> 3);
            var rest = s.Slice(b, (int)(((last + 1) >> 3) - b));
            int found = rest.IndexOfAnyExcept(skip);
            if (found < 0)
            {
                pos += (long)rest.Length * 8;
                break;
            }
            byte v = rest[found];
            int lead = BitOperations.LeadingZeroCount((uint)(bit == 1 ? v : (byte)~v)) - 24;
            return ((long)(b + found) << 3) + lead;
        }
        // tail
        while (pos <= last)
        {
            if (GetBit(s, pos) == bit) return pos;
            pos++;
        }
        return -1;
    }

    /// <summary>Reads <paramref name="bits"/> bits (1..64) from bit <paramref name="offset"/>, most significant first;
    /// bits past the end of <paramref name="s"/> read as zero.</summary>
    public static ulong GetUnsigned(ReadOnlySpan<byte> s, long offset, int bits)
    {
        ulong value = 0;
        for (int i = 0; i < bits; i++)
        {
            long pos = offset + i;
            long b = pos >> 3;
            ulong bitValue = b < s.Length ? (ulong)((s[(int)b] >> (7 - (int)(pos & 7))) & 1) : 0;
            value = (value << 1) | bitValue;
        }
        return value;
    }

    public static long GetSigned(ReadOnlySpan<byte> s, long offset, int bits)
    {
        ulong value = GetUnsigned(s, offset, bits);
        if (bits < 64 && (value & (1UL << (bits - 1))) != 0) value |= ulong.MaxValue << bits;
        return (long)value;
    }

    /// <summary>Writes the low <paramref name="bits"/> bits of <paramref name="value"/> at bit <paramref name="offset"/>
    /// (which must fit inside s).</summary>
    public static void SetUnsigned(Span<byte> s, long offset, int bits, ulong value)
    {
        for (int i = 0; i < bits; i++)
        {
            int on = (int)((value >> (bits - 1 - i)) & 1);
            SetBit(s, offset + i, on);
        }
    }
}
