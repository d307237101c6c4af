namespace Idempotency.AspNetCore.Mirroring;

/// <summary>The defaults of <see cref="MirroringOptions"/>, in one place.</summary>
internal static class MirroringDefaults
{
    public const string HeaderName = "X-Shadow-Request";

    /// <summary>The value the outbound handler and the generated proxy configurations send when no secret is set.</summary>
    public const string UnsecuredMarkerValue = "1";

    /// <summary>What Envoy appends to the host of a copy, before the port.</summary>
    public const string ShadowHostSuffix = "-shadow";
}
