using System.Text;
using Microsoft.AspNetCore.Routing.Patterns;

namespace Idempotency.AspNetCore.Mirroring.ProxyConfiguration;

/// <summary>
/// Turns a route pattern into a regular expression over the request path that both PCRE (nginx) and RE2 (Envoy,
/// Istio) accept, anchored, without case flags (the writers add their own). Routes match case-insensitively and
/// ignore a trailing slash, as ASP.NET Core routing does.
/// </summary>
internal static class RouteRegex
{
    private const string AnySegment = "[^/]+";

    /// <summary>
    /// Builds the expression. With <paramref name="narrow"/> (routes that are mirrored) constrained parameters match
    /// only what their constraint accepts, so a proxy mirrors less rather than more; without (routes that are not
    /// mirrored) every parameter matches any segment, so the route shadows more rather than less.
    /// </summary>
    public static string Build(RoutePattern pattern, bool narrow)
    {
        var regex = new StringBuilder("^");
        foreach (var segment in pattern.PathSegments)
        {
            if (segment.IsSimple && segment.Parts[0] is RoutePatternParameterPart parameter)
            {
                if (parameter.IsCatchAll)
                {
                    regex.Append("(?:/.*)?");
                    continue;
                }

                var body = ParameterRegex(parameter, narrow);
                regex.Append(parameter.IsOptional || parameter.Default is not null ? $"(?:/{body})?" : "/" + body);
                continue;
            }

            regex.Append('/');
            AppendComplexSegment(regex, segment, narrow);
        }

        if (pattern.PathSegments.Count == 0)
        {
            regex.Append('/');
        }
        else
        {
            regex.Append("/?");
        }

        return regex.Append('$').ToString();
    }

    private static void AppendComplexSegment(StringBuilder regex, RoutePatternPathSegment segment, bool narrow)
    {
        for (var i = 0; i < segment.Parts.Count; i++)
        {
            switch (segment.Parts[i])
            {
                case RoutePatternLiteralPart literal:
                    AppendLiteral(regex, literal.Content);
                    break;
                case RoutePatternSeparatorPart separator when i + 1 < segment.Parts.Count && segment.Parts[i + 1] is RoutePatternParameterPart optional:
                    // "{name}.{ext?}": the separator appears only with the optional parameter after it.
                    regex.Append("(?:");
                    AppendLiteral(regex, separator.Content);
                    regex.Append(ParameterRegex(optional, narrow, lazy: true)).Append(")?");
                    i++;
                    break;
                case RoutePatternSeparatorPart separator:
                    AppendLiteral(regex, separator.Content);
                    break;
                case RoutePatternParameterPart parameter:
                    regex.Append(ParameterRegex(parameter, narrow, lazy: true));
                    break;
            }
        }
    }

    private static string ParameterRegex(RoutePatternParameterPart parameter, bool narrow, bool lazy = false)
    {
        var any = lazy ? AnySegment + "?" : AnySegment;
        if (!narrow)
        {
            return any;
        }

        foreach (var policy in parameter.ParameterPolicies)
        {
            switch (policy.Content)
            {
                case "int" or "long":
                    return "-?[0-9]+";
                case "bool":
                    return "(?:[Tt][Rr][Uu][Ee]|[Ff][Aa][Ll][Ss][Ee])";
                case "guid":
                    return "[{(]?[0-9A-Fa-f]{8}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{4}-?[0-9A-Fa-f]{12}[})]?";
                case "alpha":
                    return "[A-Za-z]+";
            }
        }

        return any;
    }

    private static void AppendLiteral(StringBuilder regex, string literal)
    {
        var wildcard = false;
        foreach (var c in literal)
        {
            if (char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '~' or ',' or '=' or '@' or ':' or '!' or '&')
            {
                regex.Append(c);
                wildcard = false;
            }
            else if (c is '.' or '+' or '*' or '(' or ')' or '$')
            {
                regex.Append('\\').Append(c);
                wildcard = false;
            }
            else if (!wildcard)
            {
                // Characters a proxy may see encoded (%xx) or decoded, or that cannot sit in a quoted value: match any run.
                regex.Append("[^/]*");
                wildcard = true;
            }
        }
    }
}
