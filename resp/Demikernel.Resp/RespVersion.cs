namespace Demikernel.Resp;

/// <summary>Protocol version negotiated with HELLO.</summary>
public enum RespVersion : byte
{
    Resp2 = 2,
    Resp3 = 3,
}
