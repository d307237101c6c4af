using System.Diagnostics.Metrics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Core.Tests.InMemory;

/// <summary>Drives an in-memory store on a fake clock: claims, completions and probes of scoped keys.</summary>
internal sealed class InMemoryStoreDriver
{
    public static readonly byte[] Fingerprint = new byte[32];

    public FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));

    public InMemoryIdempotencyStore Create(InMemoryIdempotencyStoreOptions options, ILogger<InMemoryIdempotencyStore>? logger = null, IMeterFactory? meterFactory = null) =>
        new(Options.Create(options), Time, logger, meterFactory);

    public static string Key(string scope, int i) => IdempotencyStorageKey.Create(scope, "k" + i.ToString(CultureInfo.InvariantCulture));

    public static IdempotencyClaimRequest Request(string scope, string key, TimeSpan? lease = null) =>
        new(key, Fingerprint, Guid.NewGuid().ToString("N"), lease ?? TimeSpan.FromMinutes(1), scope);

    /// <summary>Claims a key, asserting that the claim succeeds; returns the owner token.</summary>
    public static async Task<string> ClaimAsync(InMemoryIdempotencyStore store, string scope, string key, TimeSpan? lease = null)
    {
        var request = Request(scope, key, lease);
        var result = await store.ClaimAsync(request, default);
        Assert.Equal(ClaimStatus.Claimed, result.Status);
        return request.OwnerToken;
    }

    /// <summary>Claims and completes a key with a payload of <paramref name="payloadSize"/> bytes.</summary>
    public static async Task ClaimAndCompleteAsync(InMemoryIdempotencyStore store, string scope, string key, int payloadSize = 0, TimeSpan? retention = null)
    {
        var owner = await ClaimAsync(store, scope, key);
        var status = await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, new byte[payloadSize], retention ?? TimeSpan.FromHours(24)), default);
        Assert.Equal(CompletionStatus.Completed, status);
    }

    /// <summary>
    /// Whether the store still replays <paramref name="key"/>; a probe that claims the key gives it back (probe such keys
    /// last: in a full store, the probe's claim makes room too).
    /// </summary>
    public static async Task<bool> ReplaysAsync(InMemoryIdempotencyStore store, string scope, string key)
    {
        var probe = Request(scope, key);
        var result = await store.ClaimAsync(probe, default);
        if (result.Status == ClaimStatus.Claimed)
        {
            await store.ReleaseAsync(key, probe.OwnerToken, default);
        }

        return result.Status == ClaimStatus.Completed;
    }
}
