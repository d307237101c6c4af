using Idempotency.PostgreSql.Tests.Infrastructure;
using Idempotency.Stores.Conformance.ConditionalWrites;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

/// <summary>The versioned-record conformance suite against a real PostgreSQL server, each call in its own implicit transaction.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlVersionedRecordStoreConformanceTests(PostgreSqlFixture fixture) : VersionedRecordStoreConformanceTests, IAsyncLifetime
{
    private ConditionalWriteHost? _host;

    protected override IVersionedRecordStore Store => _host!.Records;

    public async Task InitializeAsync() => _host = await ConditionalWriteHost.StartAsync(fixture.DataSource);

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
