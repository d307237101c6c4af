using System.Text.Json;
using System.Text.Json.Serialization;
using AotSmoke;
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
    // The schema initializer creates the table at start-up, and the cleanup service deletes expired records.
    idempotency.AddPostgreSqlStore(args[1]);
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
