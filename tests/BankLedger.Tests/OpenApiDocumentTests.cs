using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc.Testing;

namespace BankLedger.Tests;

public sealed class OpenApiDocumentTests(WebApplicationFactory<Program> factory) : IClassFixture<WebApplicationFactory<Program>>
{
    [Fact]
    public async Task TheSampleServesItsOpenApiDocument_WithKeysOnKeyedWrites_AndIfMatchOnConditionalOnes()
    {
        var response = await factory.CreateClient().GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var paths = document.RootElement.GetProperty("paths");

        foreach (var path in new[] { "/accounts", "/accounts/{id}/deposits", "/accounts/{id}/withdrawals", "/transfers" })
        {
            var post = paths.GetProperty(path).GetProperty("post");
            var key = Header(post, "Idempotency-Key");
            Assert.True(key.HasValue, path);
            Assert.True(key.Value.GetProperty("required").GetBoolean(), path);
            Assert.True(post.GetProperty("responses").TryGetProperty("422", out _), path);
            Assert.True(post.GetProperty("responses").GetProperty("201").GetProperty("headers").TryGetProperty("Idempotent-Replayed", out _), path);
        }

        // The application's own 409 (insufficient funds) is kept, and gains the in-flight meaning.
        var withdrawalConflict = paths.GetProperty("/accounts/{id}/withdrawals").GetProperty("post").GetProperty("responses").GetProperty("409");
        Assert.Contains("request-in-flight", withdrawalConflict.GetProperty("description").GetString(), StringComparison.Ordinal);

        var append = paths.GetProperty("/accounts/{id}/entries").GetProperty("post");
        Assert.NotNull(Header(append, "If-Match"));
        Assert.False(Header(append, "Idempotency-Key")!.Value.TryGetProperty("required", out _)); // honoured, not required
        Assert.True(append.GetProperty("responses").TryGetProperty("412", out _));
        Assert.True(append.GetProperty("responses").TryGetProperty("428", out _));

        Assert.Null(Header(paths.GetProperty("/accounts/{id}").GetProperty("get"), "Idempotency-Key"));
    }

    private static JsonElement? Header(JsonElement operation, string name) =>
        operation.TryGetProperty("parameters", out var parameters)
            ? parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "header" && p.GetProperty("name").GetString() == name).Cast<JsonElement?>().FirstOrDefault()
            : null;
}
