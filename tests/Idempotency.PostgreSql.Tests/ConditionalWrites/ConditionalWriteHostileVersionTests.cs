using System.Text;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

/// <summary>
/// Expected versions at the top of the range, as a client sends them (<c>If-Match: "9223372036854775807"</c>): no record
/// or stream can be at such a version, so they answer as a version that does not match does, in every store. They
/// never reach PostgreSQL's bigint arithmetic (which fails with "bigint out of range" and, inside a caller's
/// transaction, aborts it).
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class ConditionalWriteHostileVersionTests(PostgreSqlFixture fixture) : IAsyncLifetime
{
    private ConditionalWriteHost _host = null!;

    public async Task InitializeAsync() => _host = await ConditionalWriteHost.StartAsync(fixture.DataSource);

    public Task DisposeAsync() => _host.DisposeAsync().AsTask();

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MaxValue - 1)]
    public async Task Append_ReportsAConflictWithTheLastSequence_WhenTheExpectedSequenceIsAtTheTopOfTheRange(long expected)
    {
        var stream = NewId();
        var empty = NewId();
        await _host.Streams.AppendIfLastAsync(stream, 0, Bytes("entry 1"), default);
        await _host.Streams.AppendIfLastAsync(stream, 1, Bytes("entry 2"), default);

        var onStream = await _host.Streams.AppendIfLastAsync(stream, expected, Bytes("x"), default);
        var onEmpty = await _host.Streams.AppendIfLastAsync(empty, expected, Bytes("x"), default);

        Assert.Equal(ConditionalWriteResult.VersionConflict(2), onStream);
        Assert.Equal(ConditionalWriteResult.VersionConflict(0), onEmpty);
        Assert.Equal(2, (await _host.Streams.ReadAsync(stream, 1, 10, default)).Count);
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MaxValue - 1)]
    public async Task Update_ReportsAConflictWithTheVersion_OrNotFound_WhenTheExpectedVersionIsAtTheTopOfTheRange(long expected)
    {
        var id = NewId();
        await _host.Records.CreateAsync(id, Bytes("v1"), default);

        var onRecord = await _host.Records.UpdateIfVersionAsync(id, expected, Bytes("x"), default);
        var onMissing = await _host.Records.UpdateIfVersionAsync(NewId(), expected, Bytes("x"), default);

        Assert.Equal(ConditionalWriteResult.VersionConflict(1), onRecord);
        Assert.Equal(ConditionalWriteResult.NotFound(), onMissing);
        Assert.Equal("v1", Text((await _host.Records.GetAsync(id, default))!.Value));
    }

    [Fact]
    public async Task HostileVersions_InACallersTransaction_AreConflicts_AndTheTransactionStaysUsable()
    {
        var stream = NewId();
        var id = NewId();
        await _host.Records.CreateAsync(id, Bytes("v1"), default);
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        await using var transaction = await connection.BeginTransactionAsync();
        var streams = _host.Streams.WithTransaction(transaction);
        var records = _host.Records.WithTransaction(transaction);

        var append = await streams.AppendIfLastAsync(stream, long.MaxValue, Bytes("x"), default);
        var update = await records.UpdateIfVersionAsync(id, long.MaxValue, Bytes("x"), default);
        var appendAfter = await streams.AppendIfLastAsync(stream, 0, Bytes("entry 1"), default);
        var updateAfter = await records.UpdateIfVersionAsync(id, 1, Bytes("v2"), default);
        var ownStatement = await connection.QuerySingleAsync<int>("SELECT 1", transaction: transaction);
        await transaction.CommitAsync();

        Assert.Equal(ConditionalWriteResult.VersionConflict(0), append);
        Assert.Equal(ConditionalWriteResult.VersionConflict(1), update);
        Assert.Equal(ConditionalWriteResult.Applied(1), appendAfter);
        Assert.Equal(ConditionalWriteResult.Applied(2), updateAfter);
        Assert.Equal(1, ownStatement);
        Assert.Equal(["entry 1"], (await _host.Streams.ReadAsync(stream, 1, 10, default)).Select(e => Text(e.Payload)));
        Assert.Equal("v2", Text((await _host.Records.GetAsync(id, default))!.Value));
    }

    private static string NewId() => "id-" + Guid.NewGuid().ToString("N");

    private static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);

    private static string Text(ReadOnlyMemory<byte> bytes) => Encoding.UTF8.GetString(bytes.Span);
}
