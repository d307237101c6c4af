using Idempotency.PostgreSql.Tests.Infrastructure;
using Idempotency.Stores.Conformance;

namespace Idempotency.PostgreSql.Tests.Storage;

/// <summary>The shared store conformance suite against a real PostgreSQL server. Time passes for real: leases are short.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlStoreConformanceTests(PostgreSqlFixture fixture) : IdempotencyStoreConformanceTests
{
    protected override IIdempotencyStore Store { get; } = fixture.CreateStore();

    // PostgreSQL keeps microseconds, so retention needs no whole seconds.
    protected override TimeSpan ShortLease => TimeSpan.FromMilliseconds(200);

    protected override TimeSpan ShortRetention => TimeSpan.FromMilliseconds(300);

    protected override Task AdvanceTimeAsync(TimeSpan duration) => Task.Delay(duration);

    // The cleanup service's pass over the store's table: it must leave an expired lease within its grace alone.
    protected override async ValueTask RemoveExpiredRecordsAsync() => await fixture.Database().DeleteExpiredAsync(default);
}
