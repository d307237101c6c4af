using System.Globalization;
using Microsoft.Extensions.Options;

namespace Idempotency.Core.Tests.InMemory;

/// <summary>
/// The in-memory store against a model of what each key must answer, through long random runs on a small store that
/// is always full: several scopes over their share, keys of many lengths, payloads of many sizes, leases ending,
/// grace periods, retention, late and stale owners, fingerprint mismatches and evictions, on a fake clock. Whatever
/// the store evicts, it must never answer with another key's payload, never give away a claim whose lease is running,
/// never let a stale owner complete or release, and never evict a record in flight.
/// </summary>
public sealed class InMemoryStoreModelTests
{
    private const int KeysPerScope = 40;
    private static readonly string[] Scopes = ["tenant-a", "tenant-b", "anonymous"];
    private static readonly TimeSpan Grace = TimeSpan.FromSeconds(20);

    [Theory]
    [InlineData(1, InMemoryStoreFullBehavior.EvictOldestCompleted)]
    [InlineData(2, InMemoryStoreFullBehavior.EvictOldestCompleted)]
    [InlineData(3, InMemoryStoreFullBehavior.EvictOldestCompleted)]
    [InlineData(4, InMemoryStoreFullBehavior.RefuseNewClaims)]
    [InlineData(5, InMemoryStoreFullBehavior.RefuseNewClaims)]
    public async Task EveryAnswer_AgreesWithTheModel_ThroughARandomRunOnAFullStore(int seed, InMemoryStoreFullBehavior whenFull)
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
        var options = new InMemoryIdempotencyStoreOptions
        {
            MaxEntries = 48,
            MaxBytes = 48 * 600,
            MaxScopeShare = 0.5,
            WhenFull = whenFull,
            LeaseGracePeriod = Grace,
        };
        using var store = new InMemoryIdempotencyStore(Options.Create(options), time);
        var random = new Random(seed);
        var model = new Dictionary<string, KeyState>();
        var owners = new Dictionary<string, List<string>>(); // every owner token a key was ever claimed with
        var counts = new Dictionary<string, int>();

        for (var step = 0; step < 30_000; step++)
        {
            time.Advance(TimeSpan.FromMilliseconds(random.Next(0, 200)));
            var now = time.GetUtcNow();
            var scope = Scopes[random.Next(Scopes.Length)];
            var key = KeyOf(scope, random.Next(KeysPerScope));
            var state = model.GetValueOrDefault(key);
            var operation = random.Next(10);
            if (operation < 5 || !owners.ContainsKey(key))
            {
                var fingerprint = random.Next(20) == 0 ? FingerprintOf(key + "/other") : FingerprintOf(key);
                var request = new IdempotencyClaimRequest(key, fingerprint, Guid.NewGuid().ToString("N"), TimeSpan.FromSeconds(random.Next(1, 30)), scope);
                IdempotencyClaimResult result;
                try
                {
                    result = await store.ClaimAsync(request, default);
                }
                catch (IdempotencyStoreException)
                {
                    // Full, or the scope over its share: refused, nothing changed. A record that cannot have been
                    // evicted must still answer.
                    Assert.False(
                        state.IsLive(now) && (state.Payload is null || whenFull != InMemoryStoreFullBehavior.EvictOldestCompleted),
                        $"step {step}: a claim of {key}, live in the model ({state}), was refused instead of answered");
                    Count(counts, "refused");
                    continue;
                }

                if (state.IsLive(now) && !state.Fingerprint.AsSpan().SequenceEqual(fingerprint))
                {
                    if (state.Payload is null || result.Status != ClaimStatus.Claimed || whenFull != InMemoryStoreFullBehavior.EvictOldestCompleted)
                    {
                        Assert.Equal(ClaimStatus.FingerprintMismatch, result.Status);
                        Count(counts, "mismatch");
                        continue;
                    }
                }

                switch (result.Status)
                {
                    case ClaimStatus.Completed:
                        Assert.True(state.IsLive(now) && state.Payload is not null, $"step {step}: {key} replayed a payload, but the model holds {state} at {now:O}");
                        Assert.Equal(state.Payload, result.Payload.ToArray()); // its own payload, never another key's
                        Count(counts, "replayed");
                        break;
                    case ClaimStatus.InFlight:
                        Assert.True(state.IsLive(now) && state.Payload is null, $"step {step}: {key} answered in flight, but the model holds {state} at {now:O}");
                        Count(counts, "in flight");
                        break;
                    case ClaimStatus.Claimed:
                        if (state.IsLive(now))
                        {
                            // Only a completed record may have been evicted, and only when eviction is the behaviour.
                            Assert.True(state.Payload is not null, $"step {step}: {key} was claimed again while its lease runs ({state}, now {now:O})");
                            Assert.Equal(InMemoryStoreFullBehavior.EvictOldestCompleted, whenFull);
                            Count(counts, "claimed after eviction");
                        }
                        else
                        {
                            Count(counts, "claimed");
                        }

                        model[key] = new KeyState(request.OwnerToken, request.Fingerprint.ToArray(), null, now + request.LeaseDuration);
                        (owners.TryGetValue(key, out var list) ? list : owners[key] = []).Add(request.OwnerToken);
                        break;
                    default:
                        Assert.Fail($"step {step}: {key} answered {result.Status}, the model holds {state}");
                        break;
                }
            }
            else
            {
                // The key's current owner most of the time, an owner it had before otherwise (stale, or late).
                var tokens = owners[key];
                var owner = random.Next(4) == 0 ? tokens[random.Next(tokens.Count)] : tokens[^1];
                var ownsClaim = state.Owner == owner && state.Payload is null && now < state.ExpiresAt + Grace;
                if (operation < 8)
                {
                    var payload = PayloadOf(step, random.Next(0, 700));
                    var retention = TimeSpan.FromSeconds(random.Next(5, 120));
                    var status = await store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, payload, retention), default);
                    Assert.True(
                        status == (ownsClaim ? CompletionStatus.Completed : CompletionStatus.ClaimLost),
                        $"step {step}: completing {key} as {(owner == state.Owner ? "its owner" : "a stale owner")} answered {status}; the model holds {state} at {now:O}");
                    if (ownsClaim)
                    {
                        model[key] = state with { Payload = payload, ExpiresAt = now + retention };
                    }

                    Count(counts, ownsClaim ? "completed" : "completion refused");
                }
                else
                {
                    var released = await store.ReleaseAsync(key, owner, default);
                    Assert.True(released == ownsClaim, $"step {step}: releasing {key} answered {released}; the model holds {state} at {now:O}");
                    if (ownsClaim)
                    {
                        model.Remove(key);
                    }

                    Count(counts, ownsClaim ? "released" : "release refused");
                }
            }

            Assert.InRange(store.Count, 0, options.MaxEntries);
        }

        // The run went through every kind of answer, so the assertions above were all exercised.
        var kinds = string.Join(", ", counts.Select(pair => $"{pair.Key} {pair.Value}"));
        foreach (var kind in new[] { "replayed", "in flight", "claimed", "mismatch", "completed", "completion refused", "released", "release refused" })
        {
            Assert.True(counts.GetValueOrDefault(kind) > 0, $"no '{kind}' in this run: {kinds}");
        }

        Assert.True(
            whenFull == InMemoryStoreFullBehavior.EvictOldestCompleted ? counts.GetValueOrDefault("claimed after eviction") > 0 : counts.GetValueOrDefault("refused") > 0,
            $"the store was never full in this run: {kinds}");

        time.Advance(TimeSpan.FromHours(1));
        store.RemoveExpiredRecords();
        Assert.Equal(0, store.Count);
        Assert.Equal(0, store.Bytes);
    }

    private static string KeyOf(string scope, int i) =>
        IdempotencyStorageKey.Create(scope, "k" + i.ToString(CultureInfo.InvariantCulture) + new string('x', (i * 7) % 41));

    private static byte[] FingerprintOf(string text) => System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(text));

    // Unique to the step that completed it, so a payload of another key (or of an older record) cannot pass for it.
    private static byte[] PayloadOf(int step, int size)
    {
        var payload = new byte[size + 4];
        BitConverter.TryWriteBytes(payload, step);
        for (var i = 4; i < payload.Length; i++)
        {
            payload[i] = (byte)(step + i);
        }

        return payload;
    }

    private static void Count(Dictionary<string, int> counts, string kind) => counts[kind] = counts.GetValueOrDefault(kind) + 1;

    /// <summary>What the model holds for a key: in flight under an owner until its lease ends, or completed until its retention ends.</summary>
    private readonly record struct KeyState(string? Owner, byte[] Fingerprint, byte[]? Payload, DateTimeOffset ExpiresAt)
    {
        public bool IsLive(DateTimeOffset now) => Owner is not null && ExpiresAt > now;

        public override string ToString() =>
            Owner is null ? "nothing" : Payload is null ? $"in flight until {ExpiresAt:O}" : $"completed ({Payload.Length} bytes) until {ExpiresAt:O}";
    }
}
