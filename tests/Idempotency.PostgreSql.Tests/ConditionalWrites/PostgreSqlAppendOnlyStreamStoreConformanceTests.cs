using Idempotency.PostgreSql.Tests.Infrastructure;
using Idempotency.Stores.Conformance.ConditionalWrites;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

/// <summary>The append-only stream conformance suite against a real PostgreSQL server, each call in its own implicit transaction.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlAppendOnlyStreamStoreConformanceTests(PostgreSqlFixture fixture) : AppendOnlyStreamStoreConformanceTests, IAsyncLifetime
{
    private ConditionalWriteHost? _host;

    protected override IAppendOnlyStreamStore Store => _host!.Streams;

    public async Task InitializeAsync() => _host = await ConditionalWriteHost.StartAsync(fixture.DataSource);

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
