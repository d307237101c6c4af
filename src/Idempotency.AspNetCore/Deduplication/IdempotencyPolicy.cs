namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// A named set of settings for the endpoints that name it (<c>.RequireIdempotency("payments")</c>,
/// <c>[RequireIdempotency(PolicyName = "payments")]</c>), added with <see cref="IdempotencyOptions.AddPolicy"/>. Each
/// value left unset (<see langword="null"/>) falls back to the global <see cref="IdempotencyOptions"/>; a value that is
/// set is validated at start-up by the same rule as its global option.
/// </summary>
public sealed class IdempotencyPolicy
{
    /// <summary>Gets or sets how long a claim protects a key while the endpoint's request runs.</summary>
    /// <value>The default, when <see langword="null"/>, is <see cref="IdempotencyOptions.LeaseDuration"/>.</value>
    [MinimumDuration(1, "{0} must be positive; it is {1}.", AllowNull = true)]
    public TimeSpan? LeaseDuration { get; set; }

    /// <summary>Gets or sets how long the endpoint's completed responses are kept and replayed.</summary>
    /// <value>The default, when <see langword="null"/>, is <see cref="IdempotencyOptions.ResponseRetention"/>.</value>
    [MinimumDuration(TimeSpan.TicksPerSecond, "{0} must be at least 1 second; it is {1}.", AllowNull = true)]
    public TimeSpan? ResponseRetention { get; set; }

    /// <summary>Gets or sets the largest response body of the endpoint stored for replay, in bytes.</summary>
    /// <value>The default, when <see langword="null"/>, is <see cref="IdempotencyOptions.MaxStoredBodySize"/>.</value>
    [Int32Range(0, int.MaxValue, "{0} must not be negative; it is {1}.", AllowNull = true)]
    public int? MaxStoredBodySize { get; set; }

    /// <summary>Gets or sets what a duplicate does while the original request is still running.</summary>
    /// <value>The default, when <see langword="null"/>, is <see cref="IdempotencyOptions.InFlightDuplicates"/>.</value>
    [DefinedEnumValue("{0} must be Reject or Wait; it is {1}.", AllowNull = true)]
    public InFlightDuplicateHandling? InFlightDuplicates { get; set; }

    /// <summary>Gets or sets, with <see cref="InFlightDuplicateHandling.Wait"/>, how long a duplicate waits for the original.</summary>
    /// <value>The default, when <see langword="null"/>, is <see cref="IdempotencyOptions.InFlightWaitTimeout"/>.</value>
    [MinimumDuration(1, "{0} must be positive; it is {1}.", AllowNull = true)]
    public TimeSpan? InFlightWaitTimeout { get; set; }

    /// <summary>
    /// Gets the names of request headers that tell two requests to the endpoint apart, in addition to the global
    /// <see cref="IdempotencyOptions.FingerprintHeaders"/> (which always apply), covered as those are.
    /// </summary>
    /// <value>The default is empty: only the global headers.</value>
    public IList<string> FingerprintHeaders { get; } = [];

    /// <summary>
    /// Gets the members of a JSON request body that the fingerprint leaves out, so that two requests differing only in
    /// them (a per-attempt <c>sentAt</c> or <c>attempt</c> field) count as the same request: the retry replays instead
    /// of getting 422.
    /// </summary>
    /// <remarks>
    /// <para>
    /// A name is a path from the body's root, its member names separated by <c>.</c> and compared case-sensitively, as
    /// JSON compares them: <c>sentAt</c> is a member of the root object, <c>meta.sentAt</c> the <c>sentAt</c> member of
    /// the root's <c>meta</c> object. Arrays add no segment: <c>items.sentAt</c> names the <c>sentAt</c> member of every
    /// object in the array <c>items</c>, and <c>sentAt</c> also names the member of every object in a root array. A
    /// member whose name holds a <c>.</c> cannot be named. An excluded member counts neither by its value nor by its
    /// presence.
    /// </para>
    /// <para>
    /// Only bodies whose <c>Content-Type</c> is JSON (<c>application/json</c> or a <c>+json</c> type) are filtered: the
    /// fingerprint then covers the body re-written compactly without the excluded members (so whitespace between tokens
    /// no longer counts either). Such a body is buffered as any other: up to 64 KiB in one pooled array, a larger one
    /// through ASP.NET Core's request buffering (memory, then a temporary file), filtered from there in windows of at
    /// most 64 KiB. A body of another type, one that is not valid JSON, or one with a single token (a string, a number,
    /// a member name) longer than 64 KiB, is fingerprinted byte for byte, as without a policy: its excluded members
    /// then count.
    /// </para>
    /// <para>
    /// Adding a name changes the fingerprint of every JSON request to the endpoint, so a retry of a request recorded
    /// before the change gets 422 until its record expires.
    /// </para>
    /// </remarks>
    /// <value>The default is empty: the whole body counts.</value>
    public IList<string> FingerprintExcludedJsonMembers { get; } = [];

    /// <summary>Gets or sets which of the endpoint's outcomes are final and stored for replay.</summary>
    /// <value>The default, when <see langword="null"/>, is <see cref="IdempotencyOptions.ShouldStoreResponse"/>.</value>
    public Func<IdempotencyOutcomeArguments, bool>? ShouldStoreResponse { get; set; }
}
