namespace OrleansMqtt.Grains;

public static class SessionExpiry
{
    /// <summary>0xFFFFFFFF: the session does not expire (3.1.2.11.2); also what a v3 clean-session-0 client gets.</summary>
    public const uint Never = uint.MaxValue;
}
