namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// The settings one endpoint runs with: a named <see cref="IdempotencyPolicy"/>'s values over the global
/// <see cref="IdempotencyOptions"/>, or the global ones alone. Built once, when the middleware is built, so a request
/// pays one dictionary lookup for a named policy and nothing for the default.
/// </summary>
internal sealed class IdempotencyEndpointPolicy
{
    public IdempotencyEndpointPolicy(IdempotencyOptions options, IdempotencyPolicy? policy = null)
    {
        LeaseDuration = policy?.LeaseDuration ?? options.LeaseDuration;
        Retention = policy?.ResponseRetention ?? options.ResponseRetention;
        MaxStoredBodySize = policy?.MaxStoredBodySize ?? options.MaxStoredBodySize;
        var inFlight = policy?.InFlightDuplicates ?? options.InFlightDuplicates;
        InFlightWait = inFlight == InFlightDuplicateHandling.Wait ? policy?.InFlightWaitTimeout ?? options.InFlightWaitTimeout : TimeSpan.Zero;
        ShouldStoreResponse = policy?.ShouldStoreResponse ?? options.ShouldStoreResponse ?? (static args => !IdempotencyOptions.IsTransientStatus(args.StatusCode));

        // Lowercased, deduplicated and sorted, so neither the case nor the order of the names changes a fingerprint.
        FingerprintHeaders = [.. options.FingerprintHeaders.Concat(policy?.FingerprintHeaders ?? [])
            .Select(static name => name.ToLowerInvariant())
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)];
        ExcludedJsonMembers = policy is null ? null : JsonMemberPaths.Create(policy.FingerprintExcludedJsonMembers);
    }

    public TimeSpan LeaseDuration { get; }

    public TimeSpan Retention { get; }

    public int MaxStoredBodySize { get; }

    /// <summary>Gets how long a duplicate waits for the original: zero when duplicates are rejected at once.</summary>
    public TimeSpan InFlightWait { get; }

    public Func<IdempotencyOutcomeArguments, bool> ShouldStoreResponse { get; }

    public string[] FingerprintHeaders { get; }

    public JsonMemberPaths? ExcludedJsonMembers { get; }
}
