using System.Text.Json;
using System.Text.Json.Serialization;
using AotSmoke;

// Usage: AotSmoke <redis host:port> [--urls http://127.0.0.1:0]. Prints "listening on <url>" once it accepts requests.
if (args.Length == 0 || args[0].StartsWith('-'))
{
    Console.Error.WriteLine("usage: AotSmoke <redis host:port> [--urls http://127.0.0.1:0]");
    return 2;
}

var builder = WebApplication.CreateSlimBuilder(args[1..]);
builder.Services.ConfigureHttpJsonOptions(json => json.SerializerOptions.TypeInfoResolverChain.Insert(0, SmokeJsonContext.Default));
builder.Services.AddIdempotency().AddRedisStore(args[0], redis => redis.KeyPrefix = "aot-smoke:");

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
