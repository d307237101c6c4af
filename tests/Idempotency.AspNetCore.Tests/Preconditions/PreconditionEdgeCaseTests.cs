using System.Net;
using Idempotency.AspNetCore.Preconditions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Idempotency.AspNetCore.Tests.Preconditions;

/// <summary>
/// Edge cases of conditional requests found in review: pipeline orders in which <c>UsePreconditions()</c> would fail
/// open, and header shapes whose outcome must not drift.
/// </summary>
public sealed class PreconditionEdgeCaseTests
{
    private int _handled;

    // ---- Pipeline order: the 428/400 check must never fail open because it was registered in the wrong place ----

    [Fact]
    public async Task UsePreconditions_BeforeAnExplicitUseRouting_FailsTheHostAtStartup()
    {
        // Before routing the middleware sees no endpoint, so it finds no .RequirePrecondition() metadata and lets an
        // unconditional write (or one with an unreadable If-Match) through to the handler.
        await using var app = NewApp();
        app.UsePreconditions();
        app.UseRouting();
        MapConditionalWrite(app);

        var exception = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync());

        Assert.Contains("UseRouting()", exception.Message, StringComparison.Ordinal);
        Assert.Equal(0, _handled);
    }

    [Fact]
    public async Task UsePreconditions_AfterAnExplicitUseRouting_Answers428()
    {
        await using var app = NewApp();
        app.UseRouting();
        app.UsePreconditions();
        MapConditionalWrite(app);
        await app.StartAsync();

        using var response = await app.GetTestClient().PostAsync("/documents", content: null);

        Assert.Equal(HttpStatusCode.PreconditionRequired, response.StatusCode);
        Assert.Equal(0, _handled);
    }

    [Fact]
    public async Task UsePreconditions_AfterUseIdempotency_FailsWhereItIsCalled()
    {
        // After the idempotency middleware, the 428 or 400 it answers would be stored under the request's key.
        await using var app = NewApp(withIdempotency: true);
        app.UseRouting();
        app.UseIdempotency();

        var exception = Record.Exception(() => app.UsePreconditions());

        var invalid = Assert.IsType<InvalidOperationException>(exception);
        Assert.Contains("UseIdempotency()", invalid.Message, StringComparison.Ordinal);
        Assert.Contains("UsePreconditions()", invalid.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UsePreconditions_AfterUseIdempotency_WouldRefuseTheCorrectedResubmission_SoItMustNotStart()
    {
        // The harm the check prevents, end to end: the 400 for a malformed If-Match is stored under the key, and the
        // corrected resubmission (the same operation, so the same key) is refused as a reuse of the key (422). (A 428 is
        // not stored by default: it releases the key.)
        await using var app = NewApp(withIdempotency: true);
        var finished = new SemaphoreSlim(0);
        app.Use(async (context, next) =>
        {
            try
            {
                await next(context);
            }
            finally
            {
                finished.Release();
            }
        });
        app.UseRouting();
        app.UseIdempotency();
        try
        {
            app.UsePreconditions();
        }
        catch (InvalidOperationException)
        {
            Assert.Equal(0, _handled);
            return; // refused where it is called: the harm below cannot happen
        }

        MapConditionalWrite(app).RequireIdempotency();
        await app.StartAsync();
        var client = app.GetTestClient();

        using var malformed = await PostWithKeyAsync(client, ifMatch: "1");
        await finished.WaitAsync();
        using var resubmitted = await PostWithKeyAsync(client, ifMatch: "\"1\"");
        await finished.WaitAsync();

        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal(HttpStatusCode.OK, resubmitted.StatusCode);
        Assert.Equal(1, _handled);
    }

    // ---- Header shapes (these pin right behaviour that a refactoring of the parser could easily lose) ----

    [Theory]
    [InlineData("\"a,b\"", "a,b", true)] // a comma inside the quotes is part of the tag, not a list separator
    [InlineData("\"a\" , \t\"a,b\"", "a,b", true)]
    [InlineData("\"a", "a", false)] // unterminated
    [InlineData("\"a\"\"b\"", "a", false)] // two tags without a comma
    [InlineData("W/ \"a\"", "a", false)] // no space allowed after W/
    public void IfMatchList_ParsesQuotedCommasAndRefusesBrokenQuoting(string header, string current, bool parses)
    {
        var parsed = EntityTagList.TryParse(header, out var list);

        Assert.Equal(parses, parsed);
        if (parses)
        {
            Assert.True(list!.MatchesStrongly(new EntityTag(current)));
        }
    }

    [Fact]
    public void Evaluate_Returns400_WhenOneOfTwoIfMatchFieldLinesIsMalformed()
    {
        // A header sent twice is one list: a valid first line must not hide an unreadable second one on a write.
        var context = new DefaultHttpContext();
        context.Request.Method = HttpMethods.Put;
        context.Request.Headers.IfMatch = new(["\"563\"", "563"]);

        var result = context.Request.EvaluatePreconditions(EntityTag.FromVersion(563));

        Assert.Equal(PreconditionOutcome.MalformedHeader, result.Outcome);
    }

    private static WebApplication NewApp(bool withIdempotency = false)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseTestServer();
        builder.Logging.ClearProviders();
        builder.Services.AddProblemDetails();
        if (withIdempotency)
        {
            builder.Services.AddIdempotency();
        }

        return builder.Build();
    }

    private static async Task<HttpResponseMessage> PostWithKeyAsync(HttpClient client, string? ifMatch)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/documents");
        request.Headers.Add("Idempotency-Key", "\"edit-doc-1\"");
        if (ifMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-Match", ifMatch);
        }

        return await client.SendAsync(request);
    }

    private RouteHandlerBuilder MapConditionalWrite(WebApplication app) =>
        app.MapPost("/documents", () =>
        {
            Interlocked.Increment(ref _handled);
            return Results.Ok();
        }).RequirePrecondition();
}
