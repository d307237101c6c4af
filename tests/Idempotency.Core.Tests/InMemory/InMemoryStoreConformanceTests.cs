using Idempotency.Stores.Conformance;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Idempotency.Core.Tests.InMemory;

public sealed class InMemoryStoreConformanceTests : IdempotencyStoreConformanceTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private readonly InMemoryIdempotencyStore _store;

    public InMemoryStoreConformanceTests()
    {
        _store = new InMemoryIdempotencyStore(Options.Create(new InMemoryIdempotencyStoreOptions()), _time);
    }

    protected override IIdempotencyStore Store => _store;

    protected override Task AdvanceTimeAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }

    protected override ValueTask RemoveExpiredRecordsAsync()
    {
        _store.RemoveExpiredRecords();
        return ValueTask.CompletedTask;
    }
}
