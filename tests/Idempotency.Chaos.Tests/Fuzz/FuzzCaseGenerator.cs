using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;

namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>
/// Makes seeded hostile requests to every endpoint of the BankLedger sample, read from its routing: methods (unusual
/// ones too), paths with hostile route values and queries, Idempotency-Key values (hostile, huge, malformed Structured
/// Fields, duplicated, reused), If-Match / If-None-Match / If-Modified-Since / If-Unmodified-Since, mirror markers,
/// hosts, credentials, content types, bodies built from the type each endpoint binds (valid, truncated, wrongly
/// typed, overflowing) and framing. Each part is usually valid and sometimes not, so most requests reach deep into the
/// pipeline with one or two bad parts.
/// </summary>
internal sealed class FuzzCaseGenerator(int seed, int port, FuzzAccounts accounts, IReadOnlyList<SampleEndpoint> endpoints, string markerHeader, string? mirrorSecret)
{
    private readonly Random _random = new(seed);
    private readonly List<string> _usedKeys = [];

    public IEnumerable<FuzzCase> Generate(int count)
    {
        for (var i = 0; i < count; i++)
        {
            yield return Next(i);
        }
    }

    private FuzzCase Next(int number)
    {
        var notes = new List<string>();
        var head = new List<(string Name, byte[] Value)>();
        var (endpoint, method, target) = Target();
        var body = Body(endpoint, method, out var bodyNote);
        var conditional = endpoint?.Pattern.RawText?.EndsWith("/entries", StringComparison.Ordinal) == true && method == "POST";
        notes.Add($"{Shorten(method)} {Shorten(target)}");

        // Host: almost always right; sometimes a shadow form, empty, missing or twice.
        var host = Pick(0.88) ? $"127.0.0.1:{port}" : Choose("ledger-shadow", "ledger-shadow:8080", "orders:8080-shadow", "[::1]-shadow:8080", "", "a b", "missing", "twice");
        if (host == "twice")
        {
            head.Add(("Host", Bytes($"127.0.0.1:{port}")));
            head.Add(("Host", Bytes("other")));
        }
        else if (host != "missing")
        {
            head.Add(("Host", Bytes(host)));
        }

        if (host != $"127.0.0.1:{port}")
        {
            notes.Add($"host {Shorten(host)}");
        }

        var authorization = Pick(0.8) ? "Bearer alice-token" : Choose(FuzzValues.Authorizations);
        if (authorization is not null)
        {
            head.Add(("Authorization", Bytes(authorization)));
            if (Pick(0.02))
            {
                head.Add(("Authorization", Bytes("Bearer bob-token")));
                notes.Add("auth twice");
            }
        }

        if (authorization != "Bearer alice-token")
        {
            notes.Add($"auth {Shorten(authorization ?? "none")}");
        }

        // Idempotency-Key: none, one, or several lines; a fresh valid key, a key used before, a hostile value, or raw bytes.
        var keyLines = _random.NextDouble() switch { < 0.1 => 0, < 0.9 => 1, < 0.96 => 2, _ => _random.Next(3, 6) };
        for (var k = 0; k < keyLines; k++)
        {
            var key = KeyValue();
            head.Add(("Idempotency-Key", key.Value));
            notes.Add($"key {key.Note}");
        }

        var hasCondition = false;

        // The conditional endpoint gets a condition most of the time, often plausible entry numbers, so some appends succeed.
        if (Pick(conditional ? 0.85 : 0.3))
        {
            var lines = Pick(0.9) ? 1 : 2;
            for (var c = 0; c < lines; c++)
            {
                var name = Pick(conditional ? 0.85 : 0.6) ? "If-Match" : "If-None-Match";
                var value = conditional && Pick(0.7) ? PlausibleEntryTags() : Choose(FuzzValues.EntityTagLists);
                head.Add((name, Bytes(value)));
                notes.Add($"{name} {Shorten(value)}");
                hasCondition = true;
            }
        }

        if (Pick(0.15))
        {
            var name = Pick(0.5) ? "If-Modified-Since" : "If-Unmodified-Since";
            var value = Choose(FuzzValues.Dates);
            head.Add((name, Bytes(value)));
            notes.Add($"{name} {Shorten(value)}");
        }

        if (Pick(0.2))
        {
            var lines = Pick(0.9) ? 1 : 2;
            for (var m = 0; m < lines; m++)
            {
                var marker = Choose(mirrorSecret ?? "1", mirrorSecret ?? "true", "1", "1, 1", "wrong-secret", "", new string('s', 20_000), "é", "\u0001");
                head.Add((markerHeader, Bytes(marker)));
                notes.Add($"marker {Shorten(marker)}");
            }
        }

        if (Pick(0.04))
        {
            var (name, value) = Choose(("Accept", "application/xml"), ("Accept", "\u0001"), ("Content-Encoding", "gzip"), ("X-HTTP-Method-Override", "DELETE"), ("Prefer", "respond-async"), ("Idempotency-Key-Extra", "1"));
            head.Add((name, Bytes(value)));
            notes.Add($"{name} {Shorten(value)}");
        }

        if (body is not null || Pick(0.05))
        {
            var type = Pick(0.8) ? "application/json" : Pick(0.15) ? null : Choose(FuzzValues.ContentTypes);
            if (type is not null)
            {
                head.Add(("Content-Type", Bytes(type)));
            }

            if (type != "application/json")
            {
                notes.Add($"content-type {Shorten(type ?? "none")}");
            }
        }

        notes.Add(bodyNote);
        var bytes = body ?? [];
        var wellFramed = true;
        var halfClose = false;
        var framing = _random.NextDouble();
        var trailer = Array.Empty<byte>();
        if (framing < 0.86 || (body is null && framing < 0.95))
        {
            if (body is not null || method is "POST" or "PUT" or "PATCH")
            {
                head.Add(("Content-Length", Bytes(bytes.Length.ToString(CultureInfo.InvariantCulture))));
            }
        }
        else if (framing < 0.91)
        {
            head.Add(("Transfer-Encoding", Bytes("chunked")));
            trailer = Chunked(bytes);
            bytes = [];
            notes.Add("chunked");
        }
        else
        {
            var broken = Choose("bad chunk", "short body", "cl and te", "two lengths", "negative length");
            notes.Add(broken);
            wellFramed = false;
            switch (broken)
            {
                case "bad chunk":
                    head.Add(("Transfer-Encoding", Bytes("chunked")));
                    trailer = Encoding.ASCII.GetBytes("zz\r\nhello\r\n0\r\n\r\n");
                    bytes = [];
                    break;
                case "short body":
                    head.Add(("Content-Length", Bytes((bytes.Length + 10).ToString(CultureInfo.InvariantCulture))));
                    halfClose = true;
                    break;
                case "cl and te":
                    // The body is not chunked: whoever trusts Content-Length reads one request, whoever trusts chunked another.
                    head.Add(("Content-Length", Bytes(bytes.Length.ToString(CultureInfo.InvariantCulture))));
                    head.Add(("Transfer-Encoding", Bytes("chunked")));
                    halfClose = true;
                    break;
                case "two lengths":
                    head.Add(("Content-Length", Bytes(bytes.Length.ToString(CultureInfo.InvariantCulture))));
                    head.Add(("Content-Length", Bytes((bytes.Length + 1).ToString(CultureInfo.InvariantCulture))));
                    break;
                default:
                    head.Add(("Content-Length", Bytes("-1")));
                    break;
            }
        }

        head.Add(("Connection", Bytes("close")));
        var request = new MemoryStream();
        request.Write(Bytes(method));
        request.Write(" "u8);
        request.Write(Bytes(target));
        request.Write(" HTTP/1.1\r\n"u8);
        foreach (var (name, value) in Shuffle(head))
        {
            request.Write(Encoding.ASCII.GetBytes(name + ": "));
            request.Write(value);
            request.Write("\r\n"u8);
        }

        request.Write("\r\n"u8);
        request.Write(bytes);
        request.Write(trailer);

        // A request far over Kestrel's limits may be answered (431, 413) and reset before it is all read; so may a
        // request line Kestrel cannot parse (a control character or a space in the method).
        wellFramed &= request.Length < 32 * 1024 && !host.Contains(' ', StringComparison.Ordinal) && method.All(c => c is > ' ' and < '\u007f');
        return new FuzzCase(number, string.Join("; ", notes), request.ToArray(), wellFramed, hasCondition)
        {
            HalfClose = halfClose,
            Endpoint = endpoint,
            Method = method,
            HasKey = keyLines > 0,
        };
    }

    /// <summary>
    /// Most requests go to an endpoint the app maps, with one of its methods, writes more often than reads; some use
    /// another method, a mangled form of the path, or a path nothing maps.
    /// </summary>
    private (SampleEndpoint? Endpoint, string Method, string Target) Target()
    {
        var roll = _random.NextDouble();
        if (roll >= 0.9)
        {
            var a = accounts.Alice;
            var (path, method) = Choose(
                ("/accounts/abc/deposits", "POST"), ("/accounts/%2e%2e/deposits", "POST"), ($"/ACCOUNTS/{a}/DEPOSITS", "POST"),
                ($"http://127.0.0.1:{port}/accounts/{a}/deposits", "POST"), ($"/accounts/{a}/deposits/", "POST"), ("//accounts", "POST"),
                ($"/accounts/{a}/deposits#fragment", "POST"), ("*", "OPTIONS"), ("*", "POST"), ($"/accounts/{a}/deposits/../withdrawals", "POST"),
                ($"/accounts/{a}/d\u00e9posits", "POST"), ("/unknown", "GET"), ("/", "POST"), ("", "GET"), ("/accounts/1/entries/1/extra", "GET"),
                ($"127.0.0.1:{port}", "CONNECT"), ("/%", "GET"), ("/\u0001", "GET"));
            return (null, method, path);
        }

        // Writes carry the library's work (keys, conditions, mirroring): three times the weight of a read.
        var weighted = endpoints.SelectMany(e => Enumerable.Repeat(e, e.Methods.Any(m => m is not ("GET" or "HEAD")) ? 3 : 1)).ToArray();
        var endpoint = Choose(weighted);
        var methodChoice = endpoint.Methods.Count > 0 && Pick(0.88) ? Choose([.. endpoint.Methods]) : Choose(FuzzValues.UnusualMethods);
        var target = endpoint.Path(RouteValue);
        if (Pick(0.12))
        {
            target += Choose(FuzzValues.Queries);
        }

        return (endpoint, methodChoice, target);
    }

    private string RouteValue(Microsoft.AspNetCore.Routing.Patterns.RoutePatternParameterPart parameter, bool numeric)
    {
        if (!numeric)
        {
            return Pick(0.8) ? "v1" : Choose(FuzzValues.TextRouteValues);
        }

        return _random.NextDouble() switch
        {
            < 0.6 => Choose(accounts.All).ToString(CultureInfo.InvariantCulture),
            < 0.87 => _random.Next(0, 7).ToString(CultureInfo.InvariantCulture),
            _ => Choose(FuzzValues.NumericRouteValues),
        };
    }

    /// <summary>
    /// A body for the endpoint: built from the type it binds (each property valid most of the time), that body
    /// truncated, or a hostile constant. Reads usually get none.
    /// </summary>
    private byte[]? Body(SampleEndpoint? endpoint, string method, out string note)
    {
        if ((endpoint?.BodyType is null && Pick(0.9)) || (method is "GET" or "HEAD" && Pick(0.8)))
        {
            note = "no body";
            return null;
        }

        var roll = _random.NextDouble();
        if (endpoint?.BodyType is { } type && roll < 0.7)
        {
            var json = ObjectOf(type, out var valid);
            if (roll < 0.62)
            {
                note = valid ? "valid body" : $"body {Shorten(json)}";
                return Encoding.UTF8.GetBytes(json);
            }

            var cut = _random.Next(0, json.Length);
            note = $"truncated body {Shorten(json[..cut])}";
            return Encoding.UTF8.GetBytes(json[..cut]);
        }

        var hostile = Choose(FuzzValues.HostileBodies);
        note = "body " + Shorten(hostile);
        return hostile switch
        {
            "deep" => Encoding.ASCII.GetBytes(new string('[', 5_000) + new string(']', 5_000)),
            "huge string" => Encoding.ASCII.GetBytes("{\"amount\":\"" + new string('9', 200_000) + "\"}"),
            "2 MiB" => Encoding.ASCII.GetBytes(new string('a', 2 * 1024 * 1024)),
            "invalid utf-8" => [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d],
            "bom" => [0xef, 0xbb, 0xbf, .. Encoding.UTF8.GetBytes("{\"amount\":3}")],
            "nul bytes" => [0x7b, 0x00, 0x22, 0x61, 0x22, 0x3a, 0x31, 0x7d],
            _ => Encoding.UTF8.GetBytes(hostile),
        };
    }

    /// <summary>A JSON object with the type's properties (camelCase, as the app binds them), each a plausible value or sometimes a hostile one.</summary>
    private string ObjectOf(Type type, out bool valid)
    {
        valid = true;
        var members = new List<string>();
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (Pick(0.04))
            {
                valid = false;
                continue; // a missing property
            }

            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var (value, plausible) = propertyType == typeof(long) || propertyType == typeof(int) ? Number(property.Name) : Text();
            valid &= plausible;
            members.Add($"{JsonSerializer.Serialize(JsonNamingPolicy.CamelCase.ConvertName(property.Name))}:{value}");
        }

        return "{" + string.Join(",", members) + "}";
    }

    // A source or destination account is usually one that exists, so that some transfers go through.
    private (string Json, bool Plausible) Number(string name) => name switch
    {
        "From" when Pick(0.7) => (accounts.Alice.ToString(CultureInfo.InvariantCulture), true),
        "To" when Pick(0.7) => (Choose(accounts.AliceSecond, accounts.Bob, accounts.AliceEntries).ToString(CultureInfo.InvariantCulture), true),
        _ => Number(),
    };

    private (string Json, bool Plausible) Number() => _random.NextDouble() switch
    {
        < 0.3 => (Choose(accounts.All).ToString(CultureInfo.InvariantCulture), true),
        < 0.7 => (_random.Next(1, 50).ToString(CultureInfo.InvariantCulture), true),
        < 0.82 => (_random.Next(-20, 0).ToString(CultureInfo.InvariantCulture), true),
        _ => (Choose("0", "-0", "9223372036854775807", "-9223372036854775808", "9223372036854775808", "99999999999999999999", "1e400", "1e2", "1.5", "\"12\"", "\"\"", "null", "true", "[]", "{}"), false),
    };

    private (string Json, bool Plausible) Text() => _random.NextDouble() switch
    {
        < 0.8 => (Choose("\"fuzz\"", "\"rent\"", "\"Zebediah Quartermaine\""), true),
        _ => (Choose("\"\"", "\" \"", "\"\\u0000\"", "\"a\\u0000b\"", "\"\\ud800\"", "\"\\u001b[31m\"", "\"<script>\"", "5", "null", "[]",
            JsonSerializer.Serialize(new string('m', 201)), JsonSerializer.Serialize(new string('o', 100_000)), "\"é🔑\""), false),
    };

    // Entry numbers near the conditional account's current one, alone or in lists, strong or weak.
    private string PlausibleEntryTags()
    {
        string Tag() => (Pick(0.85) ? string.Empty : "W/") + $"\"{_random.Next(0, 9)}\"";
        return _random.NextDouble() switch
        {
            < 0.5 => Tag(),
            < 0.8 => string.Join(", ", Enumerable.Range(0, _random.Next(2, 5)).Select(_ => Tag())),
            _ => "*",
        };
    }

    private (byte[] Value, string Note) KeyValue()
    {
        var roll = _random.NextDouble();
        if (roll < 0.42)
        {
            var key = new Guid(RandomBytes(16)).ToString(); // from the seed, so that a run can be replayed
            var value = Pick(0.5) ? key : $"\"{key}\"";
            _usedKeys.Add(value);
            return (Bytes(value), value[0] == '"' ? "fresh quoted" : "fresh");
        }

        if (roll < 0.5 && _usedKeys.Count > 0)
        {
            // A key sent before: a replay when the request is the same, 422 when it is not.
            var value = _usedKeys[_random.Next(_usedKeys.Count)];
            return (Bytes(value), "used before");
        }

        if (roll < 0.94)
        {
            var value = Choose(FuzzValues.Keys);
            return (Bytes(value), Shorten(value));
        }

        var raw = Choose<byte[]>([0xff, 0xfe, 0x41], [0x41, 0x00, 0x42], [0xc3, 0x28], [0x22, 0xe2, 0x82, 0xac, 0x22], [0x61, 0x0b, 0x62]);
        return (raw, "bytes " + Convert.ToHexString(raw));
    }

    private byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        _random.NextBytes(bytes);
        return bytes;
    }

    private static byte[] Chunked(byte[] body)
    {
        var output = new MemoryStream();
        for (var offset = 0; offset < body.Length; offset += 7)
        {
            var size = Math.Min(7, body.Length - offset);
            output.Write(Encoding.ASCII.GetBytes(size.ToString("x", CultureInfo.InvariantCulture) + "\r\n"));
            output.Write(body, offset, size);
            output.Write("\r\n"u8);
        }

        output.Write("0\r\n\r\n"u8);
        return output.ToArray();
    }

    // Latin-1 keeps control characters and single bytes as they are; other characters go as UTF-8, as a client would send them.
    private static byte[] Bytes(string value) => value.All(c => c <= '\u00ff') ? Encoding.Latin1.GetBytes(value) : Encoding.UTF8.GetBytes(value);

    internal static string Shorten(string value)
    {
        var printable = string.Concat(value.Select(c => char.IsControl(c) ? $"\\x{(int)c:x2}" : c.ToString()));
        return printable.Length <= 40 ? $"'{printable}'" : $"'{printable[..20]}…' ({value.Length} chars)";
    }

    private bool Pick(double probability) => _random.NextDouble() < probability;

    private T Choose<T>(params T[] values) => values[_random.Next(values.Length)];

    private List<(string Name, byte[] Value)> Shuffle(List<(string Name, byte[] Value)> head)
    {
        // Keep Host first most of the time, as clients do; otherwise any order.
        if (Pick(0.8))
        {
            return head;
        }

        var shuffled = head.ToList();
        _random.Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(shuffled));
        return shuffled;
    }
}
