namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>The hostile values the generator draws from, by header or part. Each list mixes valid values with broken ones.</summary>
internal static class FuzzValues
{
    public static readonly string[] Keys =
    [
        "", " ", "\"\"", "\"", "\"abc", "abc\"", "\"a\\\"b\"", "\"a\\\\b\"", "a,b", "\"a\",\"b\"", "\"k\";p=1", "\"k\";", ";p=1", "?1",
        "\"k\";a=1;b=?0", "\"k\"; p=\"v\"", "k;p", ":Ynl0ZXM=:", "@1700000000", "%\"x\"", "k;p=\"open", "\"k\" trailing", "(\"a\" \"b\")",
        "../../etc/passwd", "' OR 1=1 --", "${jndi:ldap://127.0.0.1/x}", "{{7*7}}", "<script>alert(1)</script>", "%00", "%0d%0aSet-Cookie:x=1",
        "a b", "a\tb", "\u0001", "ab\u001fcd", "\u007f", "é", "ключ", "🔑", "\u00a0k", "k\u00a0", "9223372036854775807", "99999999999999999999",
        new string('k', 255), new string('k', 256), new string('k', 1024), new string('k', 8_000), new string('x', 40_000),
        "\"" + new string('q', 255) + "\"", "\"" + new string('q', 256) + "\"", "shared-fuzz-key", "\"shared-fuzz-key\"",
    ];

    // If-Match and If-None-Match: star, strong, weak, lists, huge numbers, broken.
    public static readonly string[] EntityTagLists =
    [
        "*", "\"0\"", "\"0\"", "\"1\"", "\"1\"", "\"2\"", "\"3\"", "\"5\"", "W/\"1\"", "W/\"0\"", "\"1\", \"2\"", "\"7\", \"0\"", "\"0\", W/\"1\"",
        "\"9223372036854775807\"", "\"9223372036854775808\"", "\"99999999999999999999\"", "W/\"9223372036854775807\"", "\"-9223372036854775808\"",
        "\"1\", \"9223372036854775807\"", "\"" + new string('9', 40) + "\"", "\"-1\"", "\"1e3\"", "\"01\"", "\"0x1\"", "\" 1\"",
        "*, \"1\"", "\"1\", *", "* *", "\"1\" \"2\"", "w/\"1\"", "W/ \"1\"", "W/1", "\"", "W/", "\"open", "abc", "\"\"", "\"a\"b\"", ",", ", ,",
        "", " ", "\u0001", "\"é\"", new string('"', 300), "\"" + new string('t', 10_000) + "\"", string.Join(", ", Enumerable.Range(0, 500).Select(i => $"\"{i}\"")),
    ];

    // If-Modified-Since and If-Unmodified-Since: the three HTTP-date forms, edges of the calendar, numbers, lists, junk.
    public static readonly string[] Dates =
    [
        "Sun, 06 Nov 1994 08:49:37 GMT", "Sunday, 06-Nov-94 08:49:37 GMT", "Sun Nov  6 08:49:37 1994", "Fri, 31 Dec 9999 23:59:59 GMT",
        "Mon, 01 Jan 0001 00:00:00 GMT", "Sat, 01 Jan 10000 00:00:00 GMT", "Thu, 01 Jan 1970 00:00:00 GMT", "Wed, 01 Jan 2099 00:00:00 GMT",
        "Sun, 06 Nov 1994 08:49:37 GMT, Mon, 07 Nov 1994 08:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 +0100", "Sun, 32 Nov 1994 25:61:61 GMT",
        "9223372036854775807", "99999999999999999999", "-1", "0", "", " ", "now", "\u0001", new string('d', 10_000),
    ];

    public static readonly string[] ContentTypes =
    [
        "application/json; charset=utf-8", "application/json; charset=UTF-8", "application/json;charset=\"utf-8\"", "APPLICATION/JSON",
        "application/json; charset=utf-16", "application/json; charset=latin1", "application/json; charset=us-ascii", "application/json; charset=bogus",
        "application/json; charset=", "application/json; charset=\"", "application/json; charset=utf-8; charset=utf-16", "application/json;;",
        "application/problem+json", "application/vnd.api+json", "text/json", "text/plain", "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x", "application/json, text/plain", "application/", "/json", ";", "json", "\u0001",
        "application/json; q=\u00e9", "application/" + new string('j', 5_000),
    ];

    public static readonly string?[] Authorizations =
    [
        "Bearer bob-token", null, null, "Bearer forged", "Bearer ", "Bearer", "Basic YWxpY2U6eA==", "Bearer " + new string('t', 10_000),
        "bearer alice-token", "BEARER alice-token", "Bearer  alice-token ", "Bearer alice-token, Bearer bob-token", "Bearer Auth:Tokens:alice-token",
        "Bearer alice-token\u0001", "Bearer ../alice-token", "Negotiate abc", "\u00e9",
    ];

    public static readonly string[] UnusualMethods =
    [
        "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "TRACE", "CONNECT", "QUERY", "PROPFIND", "FOO", "post", "Get", "P\u0001ST", new string('M', 300),
    ];

    // Appended to a path: the mirror safety report's formats, repeated and empty parameters, encodings, a long query.
    public static readonly string[] Queries =
    [
        "?format=istio", "?format=nginx", "?format=json", "?format=", "?format=bogus", "?format=istio&format=nginx", "?FORMAT=ISTIO",
        "?amount=5", "?x=%00", "?%", "?%zz", "?a=1&a=2", "?" + new string('q', 9_000),
    ];

    public static readonly string[] NumericRouteValues =
    [
        "-1", "0", "999999", "9223372036854775807", "9223372036854775808", "99999999999999999999", "-9223372036854775808", "1e3", "0x1",
        "%31", "01", "%201", "abc", "1.0", "1%00",
    ];

    public static readonly string[] TextRouteValues =
    [
        "v2", "V1", "v1.json", "..", "%2e%2e", "%00", "%C3%A9", new string('x', 300),
    ];

    // Whole bodies that are not what any endpoint binds, whatever its type.
    public static readonly string[] HostileBodies =
    [
        "{", "{\"amount\":}", "{\"amount\":\"12\"}", "{\"amount\":1e400}", "{\"amount\":-5}", "{\"amount\":0}", "{\"amount\":9223372036854775807}",
        "{\"amount\":-9223372036854775808}", "{\"amount\":99999999999999999999}", "{\"amount\":1.5}", "[]", "null", "true", "\"text\"", "12", "",
        "{\"amount\":1,\"amount\":2}", "{\"Amount\":3}", "{\"amount\":3,\"unknown\":{}}", "{\"amount\":3}{\"amount\":4}", "{\"amount\":3} trailing",
        "{\"amount\":3 /* comment */}", "{'amount':3}", "{\"owner\":\"<script>\\u0000\"}", "{\"owner\":\"\\ud800\"}", "{\"memo\":\"\\u0000\",\"amount\":1}",
        "deep", "huge string", "2 MiB", "invalid utf-8", "bom", "nul bytes",
    ];
}
