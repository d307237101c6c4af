namespace Idempotency;

/// <summary>
/// The wire protocol's names and limits, compiled into each package that needs them (<c>Compile Include</c> with a
/// <c>Link</c>) rather than shared as public API: the server and the client must agree on them, and a const is
/// compiled into its caller anyway, so one source file keeps them equal without a run-time dependency.
/// </summary>
internal static class IdempotencyProtocol
{
    /// <summary>The request header that carries the key.</summary>
    public const string HeaderName = "Idempotency-Key";

    /// <summary>The response header by which the server marks a replayed response (<c>Idempotent-Replayed: true</c>).</summary>
    public const string ReplayedHeaderName = "Idempotent-Replayed";

    /// <summary>The longest key a server accepts by default, in characters.</summary>
    public const int MaxKeyLength = 255;
}
