using Idempotency.AspNetCore.Preconditions;
using Microsoft.AspNetCore.Http;

namespace Idempotency.AspNetCore.Tests.Preconditions;

public sealed class PreconditionEvaluatorTests
{
    private static readonly EntityTag s_current = EntityTag.FromVersion(563);
    private static readonly DateTimeOffset s_modified = new(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);

    private const string Earlier = "Sun, 01 Mar 2026 09:59:59 GMT";
    private const string Same = "Sun, 01 Mar 2026 10:00:00 GMT";
    private const string Later = "Sun, 01 Mar 2026 10:00:01 GMT";

    [Theory]
    [InlineData("GET")]
    [InlineData("POST")]
    [InlineData("PUT")]
    public void Evaluate_Proceeds_WhenNoPreconditionIsSent(string method)
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate(method, []).Outcome);
    }

    // Step 1: If-Match, strong comparison.

    [Theory]
    [InlineData("\"563\"")]
    [InlineData("\"1\", \"563\"")]
    [InlineData("*")]
    public void Evaluate_Proceeds_WhenIfMatchMatchesStrongly(string ifMatch)
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate("PUT", [("If-Match", ifMatch)]).Outcome);
    }

    [Fact]
    public void Evaluate_Returns412_WhenIfMatchNamesAnotherVersion()
    {
        var result = Evaluate("PUT", [("If-Match", "\"562\"")]);

        Assert.Equal(PreconditionOutcome.PreconditionFailed, result.Outcome);
        Assert.False(result.CanProceed);
        Assert.Same(s_current, result.CurrentETag);
    }

    [Fact]
    public void Evaluate_Returns412_WhenIfMatchIsWeak()
    {
        Assert.Equal(PreconditionOutcome.PreconditionFailed, Evaluate("PUT", [("If-Match", "W/\"563\"")]).Outcome);
    }

    [Fact]
    public void Evaluate_Returns412_WhenIfMatchIsStrongButTheCurrentTagIsWeak()
    {
        var result = Evaluate("PUT", [("If-Match", "\"563\"")], current: EntityTag.Parse("W/\"563\""));

        Assert.Equal(PreconditionOutcome.PreconditionFailed, result.Outcome);
    }

    [Fact]
    public void Evaluate_Returns412_WhenIfMatchIsStarAndTheResourceDoesNotExist()
    {
        Assert.Equal(PreconditionOutcome.PreconditionFailed, Evaluate("PUT", [("If-Match", "*")], current: null).Outcome);
    }

    [Fact]
    public void Evaluate_Returns412NotNotModified_WhenIfMatchFailsOnGet()
    {
        Assert.Equal(PreconditionOutcome.PreconditionFailed, Evaluate("GET", [("If-Match", "\"562\"")]).Outcome);
    }

    // Step 2: If-Unmodified-Since, only without If-Match.

    [Fact]
    public void Evaluate_Returns412_WhenModifiedAfterIfUnmodifiedSince()
    {
        Assert.Equal(PreconditionOutcome.PreconditionFailed, Evaluate("PUT", [("If-Unmodified-Since", Earlier)]).Outcome);
    }

    [Theory]
    [InlineData(Same)]
    [InlineData(Later)]
    public void Evaluate_Proceeds_WhenNotModifiedAfterIfUnmodifiedSince(string date)
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate("PUT", [("If-Unmodified-Since", date)]).Outcome);
    }

    [Fact]
    public void Evaluate_IgnoresIfUnmodifiedSince_WhenIfMatchIsPresent()
    {
        var result = Evaluate("PUT", [("If-Match", "\"563\""), ("If-Unmodified-Since", Earlier)]);

        Assert.Equal(PreconditionOutcome.Proceed, result.Outcome);
    }

    [Fact]
    public void Evaluate_Returns412FromIfMatch_WhenIfUnmodifiedSinceWouldPass()
    {
        var result = Evaluate("PUT", [("If-Match", "\"562\""), ("If-Unmodified-Since", Later)]);

        Assert.Equal(PreconditionOutcome.PreconditionFailed, result.Outcome);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("Sun, 01 Mar 2026 09:59:59 GMT, Sun, 01 Mar 2026 09:59:58 GMT")]
    [InlineData("")]
    public void Evaluate_IgnoresIfUnmodifiedSince_WhenItIsNotOneValidDate(string date)
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate("PUT", [("If-Unmodified-Since", date)]).Outcome);
    }

    [Fact]
    public void Evaluate_IgnoresIfUnmodifiedSince_WhenSentTwice()
    {
        var result = Evaluate("PUT", [("If-Unmodified-Since", Earlier), ("If-Unmodified-Since", Earlier)]);

        Assert.Equal(PreconditionOutcome.Proceed, result.Outcome);
    }

    [Fact]
    public void Evaluate_IgnoresIfUnmodifiedSince_WhenTheModificationDateIsUnknown()
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate("PUT", [("If-Unmodified-Since", Earlier)], lastModified: null).Outcome);
    }

    [Fact]
    public void Evaluate_ComparesDatesInWholeSeconds()
    {
        var modifiedWithinTheSecond = s_modified.AddMilliseconds(500);

        Assert.Equal(PreconditionOutcome.Proceed, Evaluate("PUT", [("If-Unmodified-Since", Same)], lastModified: modifiedWithinTheSecond).Outcome);
        Assert.Equal(PreconditionOutcome.NotModified, Evaluate("GET", [("If-Modified-Since", Same)], lastModified: modifiedWithinTheSecond).Outcome);
    }

    [Theory]
    [InlineData("Sunday, 01-Mar-26 09:59:59 GMT")] // RFC 850
    [InlineData("Sun Mar  1 09:59:59 2026")] // asctime
    public void Evaluate_AcceptsTheObsoleteDateFormats(string date)
    {
        Assert.Equal(PreconditionOutcome.PreconditionFailed, Evaluate("PUT", [("If-Unmodified-Since", date)]).Outcome);
    }

    // Step 3: If-None-Match, weak comparison.

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    public void Evaluate_Returns304_WhenIfNoneMatchMatchesOnGetOrHead(string method)
    {
        Assert.Equal(PreconditionOutcome.NotModified, Evaluate(method, [("If-None-Match", "\"563\"")]).Outcome);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("PATCH")]
    [InlineData("DELETE")]
    public void Evaluate_Returns412_WhenIfNoneMatchMatchesOnAnotherMethod(string method)
    {
        Assert.Equal(PreconditionOutcome.PreconditionFailed, Evaluate(method, [("If-None-Match", "\"563\"")]).Outcome);
    }

    [Theory]
    [InlineData("W/\"563\"", "\"563\"")]
    [InlineData("\"563\"", "W/\"563\"")]
    [InlineData("W/\"1\", W/\"563\"", "W/\"563\"")]
    public void Evaluate_Returns304_WhenIfNoneMatchMatchesWeakly(string ifNoneMatch, string current)
    {
        var result = Evaluate("GET", [("If-None-Match", ifNoneMatch)], current: EntityTag.Parse(current));

        Assert.Equal(PreconditionOutcome.NotModified, result.Outcome);
    }

    [Fact]
    public void Evaluate_Proceeds_WhenIfNoneMatchNamesOnlyOtherTags()
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate("GET", [("If-None-Match", "\"562\", \"564\"")]).Outcome);
    }

    [Fact]
    public void Evaluate_Returns412_WhenIfNoneMatchIsStarAndTheResourceExists()
    {
        Assert.Equal(PreconditionOutcome.PreconditionFailed, Evaluate("PUT", [("If-None-Match", "*")]).Outcome);
    }

    [Fact]
    public void Evaluate_Proceeds_WhenIfNoneMatchIsStarAndTheResourceDoesNotExist()
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate("PUT", [("If-None-Match", "*")], current: null, lastModified: null).Outcome);
    }

    [Fact]
    public void Evaluate_Returns304_WhenIfNoneMatchIsStarOnGetAndTheResourceExists()
    {
        Assert.Equal(PreconditionOutcome.NotModified, Evaluate("GET", [("If-None-Match", "*")]).Outcome);
    }

    // Step 4: If-Modified-Since, GET and HEAD only, without If-None-Match.

    [Theory]
    [InlineData(Same)]
    [InlineData(Later)]
    public void Evaluate_Returns304_WhenNotModifiedSinceIfModifiedSince(string date)
    {
        Assert.Equal(PreconditionOutcome.NotModified, Evaluate("GET", [("If-Modified-Since", date)]).Outcome);
    }

    [Fact]
    public void Evaluate_Proceeds_WhenModifiedAfterIfModifiedSince()
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate("GET", [("If-Modified-Since", Earlier)]).Outcome);
    }

    [Theory]
    [InlineData("POST")]
    [InlineData("PUT")]
    [InlineData("DELETE")]
    public void Evaluate_IgnoresIfModifiedSince_WhenMethodIsNotGetOrHead(string method)
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate(method, [("If-Modified-Since", Later)]).Outcome);
    }

    [Fact]
    public void Evaluate_IgnoresIfModifiedSince_WhenIfNoneMatchIsPresent()
    {
        var result = Evaluate("GET", [("If-None-Match", "\"562\""), ("If-Modified-Since", Later)]);

        Assert.Equal(PreconditionOutcome.Proceed, result.Outcome);
    }

    [Theory]
    [InlineData("soon")]
    [InlineData("")]
    public void Evaluate_IgnoresIfModifiedSince_WhenItIsNotAValidDate(string date)
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate("GET", [("If-Modified-Since", date)]).Outcome);
    }

    [Fact]
    public void Evaluate_IgnoresIfModifiedSince_WhenTheModificationDateIsUnknown()
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate("GET", [("If-Modified-Since", Later)], lastModified: null).Outcome);
    }

    // The order between steps.

    [Fact]
    public void Evaluate_Returns412_WhenIfMatchFailsAndIfNoneMatchWouldGive304()
    {
        var result = Evaluate("GET", [("If-Match", "\"562\""), ("If-None-Match", "\"563\"")]);

        Assert.Equal(PreconditionOutcome.PreconditionFailed, result.Outcome);
    }

    [Fact]
    public void Evaluate_Returns304_WhenIfMatchHoldsAndIfNoneMatchMatchesOnGet()
    {
        var result = Evaluate("GET", [("If-Match", "\"563\""), ("If-None-Match", "\"563\"")]);

        Assert.Equal(PreconditionOutcome.NotModified, result.Outcome);
    }

    [Fact]
    public void Evaluate_Returns412_WhenIfUnmodifiedSinceFailsAndIfNoneMatchWouldGive304()
    {
        var result = Evaluate("GET", [("If-Unmodified-Since", Earlier), ("If-None-Match", "\"563\"")]);

        Assert.Equal(PreconditionOutcome.PreconditionFailed, result.Outcome);
    }

    [Fact]
    public void Evaluate_Returns412_WhenIfMatchHoldsAndIfNoneMatchMatchesOnAWrite()
    {
        var result = Evaluate("PUT", [("If-Match", "\"563\""), ("If-None-Match", "W/\"563\"")]);

        Assert.Equal(PreconditionOutcome.PreconditionFailed, result.Outcome);
    }

    [Theory]
    [InlineData("OPTIONS")]
    [InlineData("TRACE")]
    [InlineData("CONNECT")]
    public void Evaluate_IgnoresEveryPrecondition_ForMethodsThatSelectNoRepresentation(string method)
    {
        var result = Evaluate(method, [("If-Match", "\"562\""), ("If-None-Match", "\"563\""), ("If-Unmodified-Since", Earlier)]);

        Assert.Equal(PreconditionOutcome.Proceed, result.Outcome);
    }

    // Headers that cannot be read.

    [Theory]
    [InlineData("If-Match", "563")]
    [InlineData("If-Match", "*, \"563\"")]
    [InlineData("If-None-Match", "563")]
    [InlineData("If-None-Match", "")]
    public void Evaluate_ReturnsMalformedHeader_WhenAWriteCarriesAnUnreadableTagList(string header, string value)
    {
        var result = Evaluate("POST", [(header, value)]);

        Assert.Equal(PreconditionOutcome.MalformedHeader, result.Outcome);
        Assert.Equal(header, result.MalformedHeader);
    }

    [Fact]
    public void Evaluate_IgnoresAnUnreadableIfNoneMatch_OnGet()
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate("GET", [("If-None-Match", "563")]).Outcome);
    }

    [Fact]
    public void Evaluate_IgnoresIfModifiedSince_WhenIfNoneMatchIsUnreadableOnGet()
    {
        // RFC 9110 section 13.1.3: a recipient MUST ignore If-Modified-Since if the request contains an If-None-Match
        // field, readable or not; ignoring the unreadable tag list leaves a full response, not a 304 decided by date.
        var result = Evaluate("GET", [("If-None-Match", "563"), ("If-Modified-Since", Same)]);

        Assert.Equal(PreconditionOutcome.Proceed, result.Outcome);
    }

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    public void Evaluate_IgnoresIfUnmodifiedSince_WhenIfMatchIsUnreadableOnARead(string method)
    {
        // RFC 9110 section 13.1.4: a recipient MUST ignore If-Unmodified-Since if the request contains an If-Match
        // field. The read ignores the unreadable If-Match, so the worst outcome is a full response, never a 412.
        var result = Evaluate(method, [("If-Match", "563"), ("If-Unmodified-Since", Earlier)]);

        Assert.Equal(PreconditionOutcome.Proceed, result.Outcome);
    }

    [Fact]
    public void Evaluate_IgnoresAnUnreadableIfMatch_OnGet()
    {
        Assert.Equal(PreconditionOutcome.Proceed, Evaluate("GET", [("If-Match", "563")]).Outcome);
    }

    [Fact]
    public void ToHttpResult_Throws_WhenTheRequestMayProceed()
    {
        var result = Evaluate("GET", []);

        Assert.True(result.CanProceed);
        Assert.Throws<InvalidOperationException>(() => result.ToHttpResult());
    }

    [Theory]
    [InlineData("GET", "If-None-Match", "\"563\"", 304)]
    [InlineData("PUT", "If-Match", "\"1\"", 412)]
    [InlineData("PUT", "If-Match", "1", 400)]
    public void ToHttpResult_CarriesTheStatusOfTheOutcome(string method, string header, string value, int status)
    {
        var result = Evaluate(method, [(header, value)]).ToHttpResult();

        Assert.Equal(status, Assert.IsAssignableFrom<IStatusCodeHttpResult>(result).StatusCode);
    }

    private static PreconditionResult Evaluate(string method, (string Name, string Value)[] headers) =>
        Evaluate(method, headers, s_current, s_modified);

    private static PreconditionResult Evaluate(string method, (string Name, string Value)[] headers, EntityTag? current) =>
        Evaluate(method, headers, current, s_modified);

    private static PreconditionResult Evaluate(string method, (string Name, string Value)[] headers, DateTimeOffset? lastModified) =>
        Evaluate(method, headers, s_current, lastModified);

    private static PreconditionResult Evaluate(string method, (string Name, string Value)[] headers, EntityTag? current, DateTimeOffset? lastModified)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        foreach (var group in headers.GroupBy(h => h.Name, StringComparer.OrdinalIgnoreCase))
        {
            context.Request.Headers[group.Key] = group.Select(h => h.Value).ToArray();
        }

        return context.Request.EvaluatePreconditions(current, lastModified);
    }
}
