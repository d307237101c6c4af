namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>One hostile request, as raw bytes, with what the generator knows about it.</summary>
/// <param name="Number">The case's position in the run (reproduce it with the same seed).</param>
/// <param name="Description">What was sent, briefly, for failure messages.</param>
/// <param name="Bytes">The request.</param>
/// <param name="WellFramed">
/// Whether the request is complete, framed as HTTP/1.1 says and within Kestrel's limits; a broken or oversized one may
/// be reset without an answer.
/// </param>
/// <param name="HasCondition">Whether it carries an <c>If-Match</c> or <c>If-None-Match</c> line.</param>
internal sealed record FuzzCase(int Number, string Description, byte[] Bytes, bool WellFramed, bool HasCondition)
{
    /// <summary>Gets whether the sender half-closes after the request: only for a body shorter than its Content-Length.</summary>
    public bool HalfClose { get; init; }

    /// <summary>Gets the endpoint the request was aimed at, or <see langword="null"/> for a path that no endpoint maps.</summary>
    public SampleEndpoint? Endpoint { get; init; }

    /// <summary>Gets the method as sent (case and all).</summary>
    public string Method { get; init; } = string.Empty;

    /// <summary>Gets whether it carries at least one <c>Idempotency-Key</c> line.</summary>
    public bool HasKey { get; init; }
}

/// <summary>
/// The accounts the fuzz run may name: alice's own (the demo token's user), one of bob's, and one of alice's that only
/// the conditional endpoint writes to, so that its small entry numbers in <c>If-Match</c> can match.
/// </summary>
internal sealed record FuzzAccounts(long Alice, long AliceSecond, long Bob, long AliceEntries)
{
    public long[] All => [Alice, AliceSecond, Bob, AliceEntries];
}
