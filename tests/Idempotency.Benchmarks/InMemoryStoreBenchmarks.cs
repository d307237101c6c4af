using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;

namespace Idempotency.Benchmarks;

[MemoryDiagnoser]
public class InMemoryStoreBenchmarks
{
    private static readonly byte[] s_fingerprint = new byte[32];
    private static readonly byte[] s_payload = new byte[200];
    private readonly TimeSpan _lease = TimeSpan.FromMinutes(1);
    private InMemoryIdempotencyStore _store = null!;
    private long _next;

    [GlobalSetup]
    public void Setup()
    {
        _store = new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions { MaxEntries = int.MaxValue, MaxBytes = long.MaxValue }), TimeProvider.System);
        var owner = "owner";
        _store.ClaimAsync(new IdempotencyClaimRequest("completed", s_fingerprint, owner, _lease), default).AsTask().GetAwaiter().GetResult();
        _store.CompleteAsync(new IdempotencyCompleteRequest("completed", owner, s_payload, TimeSpan.FromDays(1)), default).AsTask().GetAwaiter().GetResult();
    }

    [Benchmark]
    public async Task<CompletionStatus> ClaimAndComplete()
    {
        var key = "k" + Interlocked.Increment(ref _next);
        await _store.ClaimAsync(new IdempotencyClaimRequest(key, s_fingerprint, "owner", _lease), default);
        return await _store.CompleteAsync(new IdempotencyCompleteRequest(key, "owner", s_payload, TimeSpan.FromDays(1)), default);
    }

    [Benchmark]
    public async Task<ClaimStatus> Replay() =>
        (await _store.ClaimAsync(new IdempotencyClaimRequest("completed", s_fingerprint, "other", _lease), default)).Status;
}
