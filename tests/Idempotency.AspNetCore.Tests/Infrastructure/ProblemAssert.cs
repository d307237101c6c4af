using System.Net;
using System.Text.Json;
using Idempotency.AspNetCore.Deduplication;

namespace Idempotency.AspNetCore.Tests.Infrastructure;

internal static class ProblemAssert
{
    /// <summary>Asserts a problem+json response with the given status and the library's type URI, and returns its JSON.</summary>
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, HttpStatusCode status, string type)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var problem = document.RootElement.Clone();
        Assert.Equal(IdempotencyProblemTypes.DefaultBaseUri + type, problem.GetProperty("type").GetString());
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()), "Every problem tells the client what to do.");
        return problem;
    }
}
