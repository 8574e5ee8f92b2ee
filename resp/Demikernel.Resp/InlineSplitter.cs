namespace Demikernel.Resp;

/// <summary>
/// Splits an inline command line into arguments with the rules of Redis's sdssplitargs: blanks separate
/// arguments; "double quotes" support \n \r \t \b \a \xHH and \&lt;any&gt; escapes; 'single quotes' support \';
/// a closing quote must be followed by a blank or the end of line. A NUL byte ends the line (C string).
/// </summary>
internal static class InlineSplitter
{
    /// <summary>Splits buffer[0..length) into <paramref name="args"/>; false on unbalanced quotes.</summary>
    public static bool TrySplit(ReadOnlySpan<byte> buffer, int length, RespArgs args)
    {
        ReadOnlySpan<byte> line = buffer[..length];
        int p = 0;
        while (true)
        {
            while (At(line, p) != 0 && IsSpace(At(line, p)))
            {
                p++;
            }

            if (At(line, p) == 0)
            {
                return true;
            }

            bool inDouble = false;
            bool inSingle = false;
            bool done = false;
            args.BeginToken();
            while (!done)
            {
                byte c = At(line, p);
                if (inDouble)
                {
                    if (c == (byte)'\\' && At(line, p + 1) == (byte)'x' && IsHex(At(line, p + 2)) && IsHex(At(line, p + 3)))
                    {
                        args.AppendByte(buffer, (byte)((HexValue(At(line, p + 2)) << 4) | HexValue(At(line, p + 3))));
                        p += 3;
                    }
                    else if (c == (byte)'\\' && At(line, p + 1) != 0)
                    {
                        p++;
                        byte escaped = At(line, p) switch
                        {
                            (byte)'n' => (byte)'\n',
                            (byte)'r' => (byte)'\r',
                            (byte)'t' => (byte)'\t',
                            (byte)'b' => (byte)'\b',
                            (byte)'a' => (byte)'\a',
                            byte other => other,
                        };
                        args.AppendByte(buffer, escaped);
                    }
                    else if (c == (byte)'"')
                    {
                        if (At(line, p + 1) != 0 && !IsSpace(At(line, p + 1)))
                        {
                            return false;
                        }

                        done = true;
                    }
                    else if (c == 0)
                    {
                        return false;
                    }
                    else
                    {
                        args.AppendFromBuffer(buffer, p);
                    }
                }
                else if (inSingle)
                {
                    if (c == (byte)'\\' && At(line, p + 1) == (byte)'\'')
                    {
                        p++;
                        args.AppendFromBuffer(buffer, p);
                    }
                    else if (c == (byte)'\'')
                    {
                        if (At(line, p + 1) != 0 && !IsSpace(At(line, p + 1)))
                        {
                            return false;
                        }

                        done = true;
                    }
                    else if (c == 0)
                    {
                        return false;
                    }
                    else
                    {
                        args.AppendFromBuffer(buffer, p);
                    }
                }
                else
                {
                    switch (c)
                    {
                        case (byte)' ':
                        case (byte)'\n':
                        case (byte)'\r':
                        case (byte)'\t':
                        case 0:
                            done = true;
                            break;
                        case (byte)'"':
                            inDouble = true;
                            break;
                        case (byte)'\'':
                            inSingle = true;
                            break;
                        default:
                            args.AppendFromBuffer(buffer, p);
                            break;
                    }
                }

                if (At(line, p) != 0)
                {
                    p++;
                }
            }

            args.EndToken();
        }
    }

    // The byte at i, or 0 past the end (sdssplitargs walks a NUL-terminated string).
    private static byte At(ReadOnlySpan<byte> line, int i) => (uint)i < (uint)line.Length ? line[i] : (byte)0;

    // C isspace in the "C" locale.
    private static bool IsSpace(byte c) => c == (byte)' ' || (uint)(c - '\t') <= '\r' - '\t';

    private static bool IsHex(byte c) => (uint)(c - '0') <= 9 || (uint)((c | 0x20) - 'a') <= 'f' - 'a';

    private static int HexValue(byte c) => (uint)(c - '0') <= 9 ? c - '0' : (c | 0x20) - 'a' + 10;
}
