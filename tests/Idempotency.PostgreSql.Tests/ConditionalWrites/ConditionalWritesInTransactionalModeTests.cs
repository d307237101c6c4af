using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Dapper;
using Idempotency.AspNetCore.Preconditions;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.PostgreSql.Tests.ConditionalWrites;

/// <summary>
/// Append-if-last inside the transaction of the PostgreSQL transactional idempotency mode: the entry, the claim of the
/// key and the stored response commit together, or none of them does.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class ConditionalWritesInTransactionalModeTests(PostgreSqlFixture fixture) : IAsyncLifetime
{
    private readonly string _suffix = Guid.NewGuid().ToString("N")[..16];
    private WebApplication _app = null!;
    private HttpClient _client = null!;

    private string RecordsTable => "idem_" + _suffix;

    private PostgreSqlAppendOnlyStreamStore Streams => _app.Services.GetRequiredService<PostgreSqlAppendOnlyStreamStore>();

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddIdempotency().AddPostgreSqlStore(fixture.ConnectionString, o =>
        {
            o.TableName = RecordsTable;
            o.CreateSchemaOnStartup = true;
            o.EnableCleanup = false;
        });

        // No database given: the stores share the idempotency store's, which is where the request's transaction runs.
        builder.Services.AddPostgreSqlConditionalWrites(o =>
        {
            o.RecordsTableName = "records_" + _suffix;
            o.StreamEntriesTableName = "entries_" + _suffix;
            o.CreateSchemaOnStartup = true;
        });

        _app = builder.Build();
        _app.UseRouting();
        _app.UseIdempotency();
        _app.MapPost("/streams/{stream}", async Task<IResult> (string stream, HttpRequest request, PostgreSqlIdempotentTransaction tx, PostgreSqlAppendOnlyStreamStore streams) =>
        {
            if (!request.TryGetIfMatchVersion(out var expected))
            {
                return PreconditionResults.PreconditionRequired("Send If-Match with the stream's last entry.");
            }

            using var body = new MemoryStream();
            await request.Body.CopyToAsync(body);
            var result = await streams.WithTransaction(tx.Transaction).AppendIfLastAsync(stream, expected, body.ToArray(), request.HttpContext.RequestAborted);
            if (request.Headers["X-Fail"] == "throw")
            {
                throw new InvalidOperationException("The handler failed after its append.");
            }

            return result.ToHttpResult(location: $"/streams/{stream}/{result.Version}");
        }).RequireIdempotency().WithPostgreSqlTransaction();

        await _app.StartAsync();
        _client = _app.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        _client.Dispose();
        await _app.DisposeAsync();
    }

    [Fact]
    public async Task KeyedAppend_CommitsWithItsKey_AndARetryIsReplayedWithoutAppendingAgain()
    {
        var stream = NewStream();

        var first = await _client.SendAsync(Append(stream, "\"0\"", "k1", "deposit 100"));
        var retry = await _client.SendAsync(Append(stream, "\"0\"", "k1", "deposit 100"));
        var otherKey = await _client.SendAsync(Append(stream, "\"0\"", "k2", "deposit 100"));
        var entries = await Streams.ReadAsync(stream, 1, 10, default);

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal("\"1\"", first.Headers.ETag?.Tag);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.Equal("true", Assert.Single(retry.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(HttpStatusCode.PreconditionFailed, otherKey.StatusCode); // no key to replay, so the condition refuses it
        Assert.Equal("\"1\"", otherKey.Headers.ETag?.Tag);
        Assert.Equal("deposit 100", Encoding.UTF8.GetString(Assert.Single(entries).Payload.Span));
    }

    [Fact]
    public async Task HandlerFailureAfterTheAppend_RollsBackTheEntryWithTheClaim_SoARetryAppendsOnce()
    {
        var stream = NewStream();

        // TestServer hands the handler's unhandled exception to the client; Kestrel would answer 500.
        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => _client.SendAsync(Append(stream, "\"0\"", "k1", "deposit 100", fail: true)));
        var lastAfterFailure = await Streams.GetLastSequenceAsync(stream, default);
        var recordsAfterFailure = await CountRecordsAsync();
        var retry = await _client.SendAsync(Append(stream, "\"0\"", "k1", "deposit 100"));

        Assert.Equal("The handler failed after its append.", failure.Message);
        Assert.Equal(0, lastAfterFailure);
        Assert.Equal(0, recordsAfterFailure);
        Assert.Equal(HttpStatusCode.Created, retry.StatusCode);
        Assert.False(retry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(1, await Streams.GetLastSequenceAsync(stream, default));
        Assert.Equal(1, await CountRecordsAsync());
    }

    private async Task<int> CountRecordsAsync()
    {
        await using var connection = await fixture.DataSource.OpenConnectionAsync();
        return await connection.QuerySingleAsync<int>($"SELECT count(*)::int FROM public.{RecordsTable}");
    }

    private static HttpRequestMessage Append(string stream, string ifMatch, string key, string payload, bool fail = false)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/streams/{stream}")
        {
            Content = new StringContent(payload, MediaTypeHeaderValue.Parse("text/plain")),
        };
        request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        if (fail)
        {
            request.Headers.Add("X-Fail", "throw");
        }

        return request;
    }

    private static string NewStream() => "stream-" + Guid.NewGuid().ToString("N");
}
