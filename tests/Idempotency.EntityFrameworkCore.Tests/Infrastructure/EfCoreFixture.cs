using Idempotency.PostgreSql.Tests.Infrastructure;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Idempotency.EntityFrameworkCore.Tests.Infrastructure;

/// <summary>One PostgreSQL cluster for the test run; every test works in a database of its own.</summary>
public sealed class EfCoreFixture : IAsyncLifetime
{
    private PostgreSqlServer? _server;

    public PostgreSqlServer Server => _server ?? throw new InvalidOperationException("The fixture has not started.");

    public async Task InitializeAsync() => _server = await PostgreSqlServer.CreateAsync();

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    /// <summary>A new database whose tables <see cref="LedgerDbContext"/> created with <c>EnsureCreated</c>.</summary>
    public async Task<string> CreateLedgerDatabaseAsync()
    {
        var connectionString = Server.ConnectionString(await Server.CreateDatabaseAsync());
        await using var context = CreateContext(connectionString);
        await context.Database.EnsureCreatedAsync();
        return connectionString;
    }

    public static LedgerDbContext CreateContext(string connectionString, bool retryOnFailure = false, params IInterceptor[] interceptors) =>
        new(Options(connectionString, retryOnFailure, interceptors));

    public static DbContextOptions<LedgerDbContext> Options(string connectionString, bool retryOnFailure = false, params IInterceptor[] interceptors)
    {
        var builder = new DbContextOptionsBuilder<LedgerDbContext>();
        Configure(builder, connectionString, retryOnFailure, interceptors);
        return builder.Options;
    }

    public static void Configure(DbContextOptionsBuilder builder, string connectionString, bool retryOnFailure = false, params IInterceptor[] interceptors)
    {
        builder.UseNpgsql(connectionString, npgsql =>
        {
            if (retryOnFailure)
            {
                // A terminated backend is a transient fault: the whole unit must run again.
                npgsql.EnableRetryOnFailure(3, TimeSpan.FromMilliseconds(50), ["57P01"]);
            }
        });
        builder.UseLoggerFactory(NullLoggerFactory.Instance);
        if (interceptors.Length > 0)
        {
            builder.AddInterceptors(interceptors);
        }
    }

    public static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Terminates the server process of <paramref name="pid"/> and waits until it is gone: a real connection fault.</summary>
    public static async Task TerminateBackendAsync(string connectionString, int pid)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_terminate_backend(@pid, 10000)", connection);
        command.Parameters.AddWithValue("pid", pid);
        if (!(bool)(await command.ExecuteScalarAsync())!)
        {
            throw new InvalidOperationException($"Could not terminate backend {pid}.");
        }
    }
}

[CollectionDefinition(Name)]
public sealed class EfCoreCollection : ICollectionFixture<EfCoreFixture>
{
    public const string Name = "EF Core on PostgreSQL";
}
