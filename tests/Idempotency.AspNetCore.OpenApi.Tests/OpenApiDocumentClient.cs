using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.TestHost;

namespace Idempotency.AspNetCore.OpenApi.Tests;

internal static class OpenApiDocumentClient
{
    /// <summary>Reads the app's document from <c>/openapi/v1.json</c>, where <c>MapOpenApi()</c> serves it.</summary>
    public static async Task<JsonElement> GetDocumentAsync(this WebApplication app)
    {
        using var client = app.GetTestClient();
        var response = await client.GetAsync(new Uri("/openapi/v1.json", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return json.RootElement.Clone();
    }
}
