using System.Net;
using System.Text;
using Idempotency.AspNetCore.Preconditions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Idempotency.AspNetCore.Tests.Preconditions;

/// <summary>The read and write endpoints of docs/conditional-updates.md, over the in-memory record store.</summary>
public sealed class VersionedDocumentEndpointTests
{
    [Fact]
    public async Task Put_AppliesOnlyToTheVersionRead_AndADuplicateGets412WithTheNewETag()
    {
        await using var app = await StartAsync();
        var client = app.GetTestClient();
        await SeedAsync(app, "doc-1", "{\"v\":1}");

        var read = await client.GetAsync("/documents/doc-1");
        var update = await PutAsync(client, "doc-1", read.Headers.ETag!.ToString(), "{\"v\":2}");
        var duplicate = await PutAsync(client, "doc-1", read.Headers.ETag!.ToString(), "{\"v\":2}");
        var after = await client.GetAsync("/documents/doc-1");

        Assert.Equal("\"1\"", read.Headers.ETag.ToString());
        Assert.Equal(HttpStatusCode.OK, update.StatusCode);
        Assert.Equal("\"2\"", update.Headers.ETag?.ToString());
        Assert.Equal(HttpStatusCode.PreconditionFailed, duplicate.StatusCode);
        Assert.Equal("\"2\"", duplicate.Headers.ETag?.ToString());
        Assert.Equal("{\"v\":2}", await after.Content.ReadAsStringAsync());
        Assert.Equal("\"2\"", after.Headers.ETag?.ToString());
    }

    [Fact]
    public async Task Put_Returns404_WhenTheDocumentDoesNotExist()
    {
        await using var app = await StartAsync();

        var response = await PutAsync(app.GetTestClient(), "missing", "\"1\"", "{}");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }

    [Fact]
    public async Task Put_Returns428_WithoutIfMatch()
    {
        await using var app = await StartAsync();
        await SeedAsync(app, "doc-2", "{}");

        var response = await PutAsync(app.GetTestClient(), "doc-2", null, "{\"v\":2}");

        Assert.Equal(HttpStatusCode.PreconditionRequired, response.StatusCode);
        Assert.Equal(1, (await app.Services.GetRequiredService<IVersionedRecordStore>().GetAsync("doc-2", default))!.Version);
    }

    [Fact]
    public async Task Get_Returns304_WhileTheClientsCopyIsCurrent()
    {
        await using var app = await StartAsync();
        await SeedAsync(app, "doc-3", "{}");
        using var request = new HttpRequestMessage(HttpMethod.Get, "/documents/doc-3");
        request.Headers.TryAddWithoutValidation("If-None-Match", "\"1\"");

        var response = await app.GetTestClient().SendAsync(request);

        Assert.Equal(HttpStatusCode.NotModified, response.StatusCode);
    }

    private static async Task SeedAsync(WebApplication app, string id, string json) =>
        Assert.True((await app.Services.GetRequiredService<IVersionedRecordStore>().CreateAsync(id, Encoding.UTF8.GetBytes(json), default)).IsApplied);

    private static Task<HttpResponseMessage> PutAsync(HttpClient client, string id, string? ifMatch, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, $"/documents/{id}") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return client.SendAsync(request);
    }

    private static Task<WebApplication> StartAsync() => PreconditionTestHost.StartAsync(
        app =>
        {
            // As in docs/conditional-updates.md.
            app.MapGet("/documents/{id}", async (string id, IVersionedRecordStore store, HttpRequest request, HttpResponse response) =>
            {
                if (await store.GetAsync(id, request.HttpContext.RequestAborted) is not { } record)
                {
                    return Results.NotFound();
                }

                var etag = EntityTag.FromVersion(record.Version);
                if (request.EvaluatePreconditions(etag) is { CanProceed: false } precondition)
                {
                    return precondition.ToHttpResult();
                }

                response.Headers.ETag = etag.ToString();
                return Results.Bytes(record.Value.ToArray(), "application/json");
            });

            app.MapPut("/documents/{id}", async (string id, HttpRequest request, IVersionedRecordStore store, CancellationToken ct) =>
            {
                if (!request.TryGetIfMatchVersion(out var expected))
                {
                    return PreconditionResults.PreconditionRequired("Send If-Match with the ETag of GET /documents/" + id + ".");
                }

                using var body = new MemoryStream();
                await request.Body.CopyToAsync(body, ct);
                var result = await store.UpdateIfVersionAsync(id, expected, body.ToArray(), ct);
                return result.ToHttpResult();
            }).RequirePrecondition();
        },
        services => services.AddInMemoryConditionalWrites());
}
