namespace Demikernel.Server.Commands;

/// <summary>Redis's exact error texts, shared by every handler.</summary>
public static class Errors
{
    public const string WrongType = "WRONGTYPE Operation against a key holding the wrong kind of value";
    public const string NotInteger = "ERR value is not an integer or out of range";
    public const string NotFloat = "ERR value is not a valid float";
    public const string Syntax = "ERR syntax error";
    public const string Overflow = "ERR increment or decrement would overflow";
    public const string NoSuchKey = "ERR no such key";
    public const string DbIndexOutOfRange = "ERR DB index is out of range";
    public const string InvalidDbIndex = "ERR invalid DB index";
    public const string NoAuth = "NOAUTH Authentication required.";
    public const string WrongPass = "WRONGPASS invalid username-password pair or user is disabled.";
    public const string NotPositive = "ERR value is out of range, must be positive";
    public const string ClusterDisabled = "ERR This instance has cluster support disabled";
    public const string SentinelUnknown = "ERR unknown command 'sentinel', with args beginning with: ";
    public const string StringTooLong = "ERR string exceeds maximum allowed size (proto-max-bulk-len)";
    public const string IncrFloatNaN = "ERR increment would produce NaN or Infinity";
    public const string SameObject = "ERR source and destination objects are the same";
    public const string Loading = "LOADING Redis is loading the dataset in memory";
    public const string BusyScript = "BUSY Redis is busy running a script. You can only call SCRIPT KILL or SHUTDOWN NOSAVE.";
    public const string BusyFunction = "BUSY Redis is busy running a script. You can only call FUNCTION KILL or SHUTDOWN NOSAVE.";

    public static string WrongArgCount(string command) => $"ERR wrong number of arguments for '{command}' command";

    public static string InvalidExpireTime(string command) => $"ERR invalid expire time in '{command}' command";

    public static string UnknownCommand(string name, string argsPreview) =>
        $"ERR unknown command '{name}', with args beginning with: {argsPreview}";

    public static string UnknownSubcommand(string sub, string command) =>
        $"ERR unknown subcommand '{sub}'. Try {command.ToUpperInvariant()} HELP.";
}
