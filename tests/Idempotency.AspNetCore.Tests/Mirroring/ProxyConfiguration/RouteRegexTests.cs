using System.Text.RegularExpressions;
using Idempotency.AspNetCore.Mirroring.ProxyConfiguration;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Idempotency.AspNetCore.Tests.Mirroring.ProxyConfiguration;

public sealed class RouteRegexTests
{
    [Theory]
    [InlineData("/", "^/$")]
    [InlineData("/accounts", "^/accounts/?$")]
    [InlineData("/accounts/{id:long}", "^/accounts/-?[0-9]+/?$")]
    [InlineData("/accounts/{id}/entries", "^/accounts/[^/]+/entries/?$")]
    [InlineData("/files/{**path}", "^/files(?:/.*)?/?$")]
    [InlineData("/items/{id?}", "^/items(?:/[^/]+)?/?$")]
    [InlineData("/reports/summary.json", "^/reports/summary\\.json/?$")]
    public void NarrowExpressions_FollowTheRouteTemplate(string route, string expected)
    {
        Assert.Equal(expected, RouteRegex.Build(RoutePatternFactory.Parse(route), narrow: true));
    }

    [Fact]
    public void BroadExpressions_IgnoreConstraints()
    {
        Assert.Equal("^/accounts/[^/]+/?$", RouteRegex.Build(RoutePatternFactory.Parse("/accounts/{id:long}"), narrow: false));
    }

    [Theory]
    [InlineData("/accounts/{id:long}", "/accounts/12", true)]
    [InlineData("/accounts/{id:long}", "/accounts/-12/", true)]
    [InlineData("/accounts/{id:long}", "/accounts/x", false)]
    [InlineData("/accounts/{id:long}", "/accounts/12/entries", false)]
    [InlineData("/accounts/{id:guid}", "/accounts/8e03978e-40d5-43e8-bc93-6894a57f9324", true)]
    [InlineData("/accounts/{id:guid}", "/accounts/not-a-guid", false)]
    [InlineData("/flags/{on:bool}", "/flags/True", true)]
    [InlineData("/flags/{on:bool}", "/flags/yes", false)]
    [InlineData("/files/{**path}", "/files", true)]
    [InlineData("/files/{**path}", "/files/a/b/c.txt", true)]
    [InlineData("/files/{**path}", "/filesystem", false)]
    [InlineData("/items/{id?}", "/items", true)]
    [InlineData("/items/{id?}", "/items/3", true)]
    [InlineData("/items/{id=5}", "/items", true)]
    [InlineData("/items/{id?}", "/items/3/4", false)]
    [InlineData("/download/{name}.{ext?}", "/download/report.pdf", true)]
    [InlineData("/download/{name}.{ext?}", "/download/report", true)]
    [InlineData("/reports/summary.json", "/reports/summaryXjson", false)]
    [InlineData("/", "/", true)]
    [InlineData("/", "/x", false)]
    public void NarrowExpressions_MatchWhatTheRouteMatches(string route, string path, bool matches)
    {
        var regex = RouteRegex.Build(RoutePatternFactory.Parse(route), narrow: true);

        Assert.Equal(matches, Regex.IsMatch(path, regex, RegexOptions.IgnoreCase | RegexOptions.CultureInvariant));
    }

    [Theory]
    [InlineData("/caf\u00e9/{id}", "/caf\u00e9/1")]
    [InlineData("/caf\u00e9/{id}", "/caf%C3%A9/1")]
    [InlineData("/a b/{id}", "/a%20b/1")]
    [InlineData("/quote\"s/{id}", "/quote%22s/1")]
    public void LiteralCharactersAProxyMaySeeEncoded_MatchInEitherForm(string route, string path)
    {
        var regex = RouteRegex.Build(RoutePatternFactory.Parse(route), narrow: true);

        Assert.Matches(new Regex(regex, RegexOptions.IgnoreCase), path);
        Assert.DoesNotContain("\"", regex, StringComparison.Ordinal);
        Assert.DoesNotContain(" ", regex, StringComparison.Ordinal);
    }
}
