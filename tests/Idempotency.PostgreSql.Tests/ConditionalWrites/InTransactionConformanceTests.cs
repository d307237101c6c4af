using Idempotency.PostgreSql.Tests.Infrastructure;
using Idempotency.Stores.Conformance.ConditionalWrites;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

/// <summary>The versioned-record conformance suite through <c>WithTransaction(...)</c>, each call in a transaction of the caller's.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlVersionedRecordStoreInTransactionConformanceTests(PostgreSqlFixture fixture) : VersionedRecordStoreConformanceTests, IAsyncLifetime
{
    private ConditionalWriteHost? _host;
    private EachCallInItsOwnTransaction? _store;

    protected override IVersionedRecordStore Store => _store!;

    public async Task InitializeAsync()
    {
        _host = await ConditionalWriteHost.StartAsync(fixture.DataSource);
        _store = new EachCallInItsOwnTransaction(fixture.DataSource, _host.Records, _host.Streams);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}

/// <summary>The append-only stream conformance suite through <c>WithTransaction(...)</c>, each call in a transaction of the caller's.</summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class PostgreSqlAppendOnlyStreamStoreInTransactionConformanceTests(PostgreSqlFixture fixture) : AppendOnlyStreamStoreConformanceTests, IAsyncLifetime
{
    private ConditionalWriteHost? _host;
    private EachCallInItsOwnTransaction? _store;

    protected override IAppendOnlyStreamStore Store => _store!;

    public async Task InitializeAsync()
    {
        _host = await ConditionalWriteHost.StartAsync(fixture.DataSource);
        _store = new EachCallInItsOwnTransaction(fixture.DataSource, _host.Records, _host.Streams);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }
}
