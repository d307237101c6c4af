using System.Net;
using Dapper;
using Idempotency.PostgreSql.Tests.Infrastructure;
using Npgsql;

namespace Idempotency.PostgreSql.Tests.Transactions;

/// <summary>
/// What one request costs in transactional mode, counted by the server (pg_stat_statements in a database of its own).
/// BEGIN travels with the claim (Npgsql prepends it), so a new request costs the claim, the handler's statements,
/// the completion and COMMIT; a replay costs the claim and ROLLBACK.
/// </summary>
[Collection(PostgreSqlCollection.Name)]
public sealed class TransactionalModeStatementCountTests(PostgreSqlFixture fixture) : IAsyncLifetime
{
    private NpgsqlDataSource _admin = null!;
    private LedgerDatabase _database = null!;
    private LedgerApp _app = null!;
    private long _databaseId;

    public async Task InitializeAsync()
    {
        var name = await fixture.Server.CreateDatabaseAsync();
        _admin = NpgsqlDataSource.Create(fixture.ConnectionString);
        await using (var connection = await _admin.OpenConnectionAsync())
        {
            await connection.ExecuteAsync("CREATE EXTENSION IF NOT EXISTS pg_stat_statements");
            _databaseId = await connection.QuerySingleAsync<long>("SELECT oid::bigint FROM pg_database WHERE datname = @name", new { name });
        }

        _database = await LedgerDatabase.CreateAsync(fixture.Server.ConnectionString(name));
        _app = await LedgerApp.StartTestServerAsync(_database);
        await _app.Client!.SendAsync(LedgerApp.Deposit("alice", "warm-up")); // loads Npgsql's type information first
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _admin.DisposeAsync();
    }

    [Fact]
    public async Task NewRequest_IsClaimHandlerCompleteAndCommit_AndAReplayIsClaimAndRollback()
    {
        var created = await CountAsync(() => _app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1")));
        var replayed = await CountAsync(() => _app.Client!.SendAsync(LedgerApp.Deposit("alice", "k1")));

        Assert.Equal(HttpStatusCode.Created, created.Response.StatusCode);
        Assert.Equal(["BEGIN", "COMMIT", "INSERT", "UPDATE", "WITH"], created.Statements);
        Assert.Equal("true", Assert.Single(replayed.Response.Headers.GetValues("Idempotent-Replayed")));
        Assert.Equal(["BEGIN", "ROLLBACK", "WITH"], replayed.Statements);
    }

    /// <summary>
    /// The first word of every statement the server ran for <paramref name="request"/>, one entry per execution, without
    /// Npgsql's pool reset (sent with the next command) and the foreign-key check the server runs by itself.
    /// </summary>
    private async Task<(HttpResponseMessage Response, List<string> Statements)> CountAsync(Func<Task<HttpResponseMessage>> request)
    {
        await using var connection = await _admin.OpenConnectionAsync();
        await connection.ExecuteAsync("SELECT pg_stat_statements_reset(0, @dbid::oid, 0)", new { dbid = _databaseId });
        var response = await request();
        var rows = await connection.QueryAsync<(string Query, long Calls)>(
            "SELECT query, calls FROM pg_stat_statements WHERE dbid = @dbid::oid AND query <> 'DISCARD ALL'", new { dbid = _databaseId });
        var statements = rows
            .Where(r => !r.Query.Contains(_database.AccountsTable, StringComparison.Ordinal)) // the server's own foreign-key check at COMMIT
            .SelectMany(r => Enumerable.Repeat(r.Query.TrimStart().Split([' ', '\n'], 2)[0].ToUpperInvariant(), (int)r.Calls))
            .Order(StringComparer.Ordinal)
            .ToList();
        return (response, statements);
    }
}
