using System.Globalization;
using System.Security.Cryptography;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Microsoft.Extensions.Options;

namespace Idempotency.Benchmarks;

/// <summary>
/// The in-memory store's cost against the records it holds: the store is pre-filled with completed records like the
/// middleware's (a scoped key of about 60 characters, a 32-byte fingerprint, a payload of about 200 bytes, each its own
/// arrays and owner token), then a new key, a replay of one hot key and a replay of a random held key are measured, and
/// a forced blocking gen2 collection as the proxy of the garbage collector's pause at that size.
/// </summary>
/// <remarks>
/// <para>
/// The store's <see cref="InMemoryIdempotencyStoreOptions.MaxEntries"/> is the size (at least 1,024), so a new key
/// evicts the oldest completed record: the store stays at its size however many iterations run, as a service at
/// steady state does while records expire.
/// </para>
/// <para>
/// A short job, in process (the host's server GC), so that one store of each size is filled once and measured by every
/// method in turn (filling 5 M records takes minutes on a busy machine): the methods run in the order declared, the
/// one that changes which keys are held (<see cref="NewKey"/>) last.
/// </para>
/// <code>dotnet run -c Release --project tests/Idempotency.Benchmarks -- --filter '*InMemoryStoreSize*'</code>
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(Config))]
public class InMemoryStoreSizeBenchmarks
{
    private static (int Records, InMemoryIdempotencyStore Store, string ReplayKey)? s_filled;

    private const string Scope = "user-4f1c2a9e";
    private static readonly TimeSpan s_lease = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan s_retention = TimeSpan.FromDays(1);
    private readonly byte[] _fingerprint = RandomNumberGenerator.GetBytes(32);
    private readonly byte[] _payload = RandomNumberGenerator.GetBytes(200);
    private InMemoryIdempotencyStore _store = null!;
    private string _replayKey = null!;
    private long _next;
    private uint _random = 2_463_534_242;

    /// <summary>Gets or sets the completed records the store holds before (and while) it is measured.</summary>
    [Params(0, 1_000_000, 5_000_000)]
    public int Records { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        if (s_filled is { } filled && filled.Records == Records)
        {
            (_, _store, _replayKey) = filled;
            return;
        }

        ((object?)s_filled?.Store as IDisposable)?.Dispose();
        s_filled = null;
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        _store = new InMemoryIdempotencyStore(
            Options.Create(new InMemoryIdempotencyStoreOptions { MaxEntries = Math.Max(Records, 1_024), MaxBytes = long.MaxValue, MaxScopeShare = 1 }),
            TimeProvider.System);
        var random = new Random(Records);
        for (var i = 0; i < Records; i++)
        {
            // Every record its own key, fingerprint, owner token and payload, as the middleware gives them.
            var fingerprint = new byte[32];
            var payload = new byte[200];
            random.NextBytes(fingerprint);
            random.NextBytes(payload);
            Complete(HeldKey(i), fingerprint, payload);
        }

        _replayKey = HeldKey(-1);
        Complete(_replayKey, _fingerprint, _payload);
        s_filled = (Records, _store, _replayKey);
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
    }

    /// <summary>A forced, blocking, non-compacting gen2 collection: the pause the records held add to every full GC.</summary>
    [Benchmark]
    public void ForcedGen2Collection() => GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: false);

    /// <summary>A look-up of a random held key (its fingerprint differs, so it answers a mismatch): the index's cache misses at this size.</summary>
    [Benchmark]
    public ClaimStatus LookUpRandomHeldKey()
    {
        _random ^= _random << 13;
        _random ^= _random >> 17;
        _random ^= _random << 5;
        var key = Records == 0 ? _replayKey : HeldKey((int)(_random % (uint)Records));
        return _store.ClaimAsync(new IdempotencyClaimRequest(key, _fingerprint, "other-owner", s_lease, Scope), default).GetAwaiter().GetResult().Status;
    }

    /// <summary>A replay of one hot key (what scripts/wrk/replay.lua sends).</summary>
    [Benchmark]
    public int Replay() =>
        _store.ClaimAsync(new IdempotencyClaimRequest(_replayKey, _fingerprint, "other-owner", s_lease, Scope), default).GetAwaiter().GetResult().Payload.Length;

    /// <summary>A new key: claim, then complete (the store's part of a first request).</summary>
    [Benchmark]
    public CompletionStatus NewKey()
    {
        var key = IdempotencyStorageKey.Create(Scope, "new-" + (++_next).ToString(CultureInfo.InvariantCulture) + "-5d0b6a7e3c2f4e1a9b8c7d6e5f4a3b2c");
        var owner = OwnerTokens.Create();
        _store.ClaimAsync(new IdempotencyClaimRequest(key, _fingerprint, owner, s_lease, Scope), default).GetAwaiter().GetResult();
        return _store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, _payload, s_retention), default).GetAwaiter().GetResult();
    }

    // About 60 characters, like "13:user-4f1c2a9e:" and a client's UUID.
    private static string HeldKey(int i) =>
        IdempotencyStorageKey.Create(Scope, i.ToString("x8", CultureInfo.InvariantCulture) + "-9c1e-4b7a-8f3d-2a6b5c4d3e2f0a1b2c");

    private void Complete(string key, byte[] fingerprint, byte[] payload)
    {
        var owner = OwnerTokens.Create();
        _store.ClaimAsync(new IdempotencyClaimRequest(key, fingerprint, owner, s_lease, Scope), default).GetAwaiter().GetResult();
        _store.CompleteAsync(new IdempotencyCompleteRequest(key, owner, payload, s_retention), default).GetAwaiter().GetResult();
    }

    /// <summary>A short job in process, with a timeout long enough to fill 5 M records on a busy machine.</summary>
    private sealed class Config : ManualConfig
    {
        public Config()
        {
            AddJob(Job.ShortRun.WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(30), logOutput: true)));
            Orderer = new BenchmarkDotNet.Order.DefaultOrderer(BenchmarkDotNet.Order.SummaryOrderPolicy.Declared, BenchmarkDotNet.Order.MethodOrderPolicy.Declared);
        }
    }
}
