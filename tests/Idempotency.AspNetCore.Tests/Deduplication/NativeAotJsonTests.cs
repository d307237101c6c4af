using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Idempotency.AspNetCore.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Idempotency.AspNetCore.Tests.Deduplication;

// A Native AOT app's JSON options know only the types of its own JsonSerializerContext, and ProblemDetails only once it
// calls AddProblemDetails(). Found by scripts/aot-smoke.sh: there, the 422 of a reused key was a 500 (NotSupportedException).
public sealed class NativeAotJsonTests
{
    [Fact]
    public async Task Problems_AreWrittenAsProblemJson_WhenTheAppsJsonOptionsKnowOnlyItsOwnTypes_AsUnderNativeAot()
    {
        await using var app = await TestApp.StartAsync(
            e => e.MapPost("/pay", () => new Receipt("r-1")).RequireIdempotency(),
            services: services =>
            {
                services.RemoveAll<IProblemDetailsService>();
                services.ConfigureHttpJsonOptions(json =>
                {
                    json.SerializerOptions.TypeInfoResolverChain.Clear();
                    json.SerializerOptions.TypeInfoResolverChain.Add(AppOnlyJsonContext.Default);
                });
            });

        var first = await app.SendAsync(TestApp.Post("/pay", "k"));
        var reused = await app.SendAsync(TestApp.Post("/pay", "k", "{\"other\":1}"));
        var missing = await app.SendAsync(TestApp.Post("/pay", key: null));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal((HttpStatusCode)StatusCodes.Status422UnprocessableEntity, reused.StatusCode);
        Assert.Equal("application/problem+json", reused.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await reused.Content.ReadAsStringAsync());
        Assert.Equal(422, problem.RootElement.GetProperty("status").GetInt32());
        Assert.EndsWith("key-reused", problem.RootElement.GetProperty("type").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }
}

internal sealed record Receipt(string Id);

[JsonSerializable(typeof(Receipt))]
internal sealed partial class AppOnlyJsonContext : JsonSerializerContext;
