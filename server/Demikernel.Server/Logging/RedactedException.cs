using System.Text;

namespace Demikernel.Server.Logging;

/// <summary>
/// An exception as the log shows it when it happened while running a client's command: its types and stack traces,
/// never its messages, which may quote a key or a value (.NET's own do: "The input string 'secret' was not in a correct
/// format."). Any ILogger provider that prints <see cref="ToString"/> gets the redacted text.
/// </summary>
public sealed class RedactedException : Exception
{
    private const string Withheld = " (message withheld: it may quote the command's arguments)";
    private readonly string _text;

    public RedactedException(Exception original)
        : base(original.GetType().FullName + Withheld)
    {
        Original = original;
        _text = Describe(original);
    }

    /// <summary>The exception as thrown (for debuggers and tests; never logged).</summary>
    public Exception Original { get; }

    public override string? StackTrace => Original.StackTrace;

    public override string ToString() => _text;

    private static string Describe(Exception e)
    {
        var text = new StringBuilder(e.GetType().FullName).Append(Withheld);
        if (e.InnerException is { } inner)
            text.Append(" ---> ").Append(Describe(inner)).Append("\n   --- End of inner exception stack trace ---");
        if (e.StackTrace is { } stack) text.Append('\n').Append(stack);
        return text.ToString();
    }
}
