using System.Globalization;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.AspNetCore.Tests.Infrastructure;

/// <summary>The in-memory store, counting calls, and failing every call on demand.</summary>
internal sealed class CountingStore : IIdempotencyStore
{
    private readonly InMemoryIdempotencyStore _inner;
    private int _calls;

    public CountingStore(TimeProvider? timeProvider = null, InMemoryIdempotencyStoreOptions? options = null)
    {
        Time = timeProvider ?? new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", CultureInfo.InvariantCulture));
        _inner = new InMemoryIdempotencyStore(Options.Create(options ?? new InMemoryIdempotencyStoreOptions()), Time);
    }

    public TimeProvider Time { get; }

    public int Calls => _calls;

    public Exception? FailWith { get; set; }

    public Exception? FailCompleteWith { get; set; }

    public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        Count();
        return _inner.ClaimAsync(request, cancellationToken);
    }

    public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        Count();
        if (FailCompleteWith is not null)
        {
            throw FailCompleteWith;
        }

        return _inner.CompleteAsync(request, cancellationToken);
    }

    public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        Count();
        return _inner.ReleaseAsync(key, ownerToken, cancellationToken);
    }

    private void Count()
    {
        Interlocked.Increment(ref _calls);
        if (FailWith is not null)
        {
            throw FailWith;
        }
    }
}
