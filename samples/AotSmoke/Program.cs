using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using AotSmoke;
using Idempotency;
using Idempotency.PostgreSql;
using Npgsql;

// Usage: AotSmoke redis <host:port> | postgresql <connection string> [--urls http://127.0.0.1:0]. Prints
// "listening on <url>" once it accepts requests. One binary for both stores: the store is chosen at start-up.
if (args.Length < 2 || args[0] is not ("redis" or "postgresql") || args[1].StartsWith('-'))
{
    Console.Error.WriteLine("usage: AotSmoke redis <host:port> | postgresql <connection string> [--urls http://127.0.0.1:0]");
    return 2;
}

var postgreSql = args[0] == "postgresql";
var builder = WebApplication.CreateSlimBuilder(args[2..]);
builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, SmokeJsonContext.Default));
var idempotency = builder.Services.AddIdempotency();
if (postgreSql)
{
    // The schema initializers create the tables at start-up; the cleanup service deletes expired records.
    idempotency.AddPostgreSqlStore(args[1], store => store.CreateSchemaOnStartup = true);
    builder.Services.AddPostgreSqlConditionalWrites(args[1], writes => writes.CreateSchemaOnStartup = true);
}
else
{
    idempotency.AddRedisStore(args[1], redis => redis.KeyPrefix = "aot-smoke:");
}

var app = builder.Build();
app.UseIdempotency();

var executions = 0;
app.MapPost("/orders", (OrderRequest order) =>
{
    // A fresh id and the run count: a second execution would answer different bytes than the first.
    var run = Interlocked.Increment(ref executions);
    return TypedResults.Created($"/orders/{Guid.NewGuid():N}", new OrderCreated(Guid.NewGuid(), order.Item, order.Quantity, run));
}).RequireIdempotency();
app.MapGet("/executions", () => Volatile.Read(ref executions));

if (postgreSql)
{
    // The transactional mode (Idempotency.PostgreSql.AspNetCore): the claim, the handler's statement and the stored
    // response in one transaction.
    var transactionalExecutions = 0;
    app.MapPost("/transactional/orders", async (OrderRequest order, PostgreSqlIdempotentTransaction transaction, CancellationToken cancellationToken) =>
    {
        var command = new NpgsqlCommand("SELECT txid_current()", transaction.Connection, transaction.Transaction);
        await using (command.ConfigureAwait(false))
        {
            _ = await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
        }

        var run = Interlocked.Increment(ref transactionalExecutions);
        return TypedResults.Created($"/orders/{Guid.NewGuid():N}", new OrderCreated(Guid.NewGuid(), order.Item, order.Quantity, run));
    }).RequireIdempotency().WithPostgreSqlTransaction();
    app.MapGet("/transactional/executions", () => Volatile.Read(ref transactionalExecutions));

    // Every conditional write once, on a fresh record and stream; the script compares the summary with the expected one.
    app.MapPost("/conditional-writes", async (IVersionedRecordStore records, IAppendOnlyStreamStore streams, CancellationToken cancellationToken) =>
    {
        var id = Guid.NewGuid().ToString("N");
        var results = new List<string>
        {
            Describe(await records.CreateAsync(id, "a"u8.ToArray(), cancellationToken)),
            Describe(await records.CreateAsync(id, "b"u8.ToArray(), cancellationToken)),
            Describe(await records.UpdateIfVersionAsync(id, 1, "c"u8.ToArray(), cancellationToken)),
            Describe(await records.UpdateIfVersionAsync(id, 1, "d"u8.ToArray(), cancellationToken)),
            Describe(await records.UpdateIfVersionAsync(id + "-missing", 1, "e"u8.ToArray(), cancellationToken)),
        };
        var record = await records.GetAsync(id, cancellationToken);
        results.Add(record is null ? "none" : $"{record.Version}:{Encoding.UTF8.GetString(record.Value.Span)}");
        results.Add(Describe(await streams.AppendIfLastAsync(id, 0, "x"u8.ToArray(), cancellationToken)));
        results.Add(Describe(await streams.AppendIfLastAsync(id, 1, "y"u8.ToArray(), cancellationToken)));
        results.Add(Describe(await streams.AppendIfLastAsync(id, 1, "z"u8.ToArray(), cancellationToken)));
        results.Add((await streams.GetLastSequenceAsync(id, cancellationToken)).ToString(CultureInfo.InvariantCulture));
        var entries = await streams.ReadAsync(id, 1, 10, cancellationToken);
        results.Add(string.Join(',', entries.Select(entry => $"{entry.Sequence}:{Encoding.UTF8.GetString(entry.Payload.Span)}")));
        return string.Join(' ', results);

        static string Describe(ConditionalWriteResult result) => $"{result.Status}/{result.Version}";
    });
}

app.Lifetime.ApplicationStarted.Register(() => Console.WriteLine($"listening on {app.Urls.First()}"));
await app.RunAsync();
return 0;

namespace AotSmoke
{
    internal sealed record OrderRequest(string Item, int Quantity);

    internal sealed record OrderCreated(Guid Id, string Item, int Quantity, int Run);

    [JsonSerializable(typeof(OrderRequest))]
    [JsonSerializable(typeof(OrderCreated))]
    [JsonSerializable(typeof(int))]
    [JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
    internal sealed partial class SmokeJsonContext : JsonSerializerContext;
}
