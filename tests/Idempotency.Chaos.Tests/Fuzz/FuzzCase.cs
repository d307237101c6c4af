using System.Globalization;
using System.Text;

namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>One hostile request, as raw bytes, with what the generator knows about it.</summary>
/// <param name="Number">The case's position in the run (reproduce it with the same seed).</param>
/// <param name="Description">What was sent, briefly, for failure messages.</param>
/// <param name="Bytes">The request.</param>
/// <param name="WellFramed">
/// Whether the request is complete, framed as HTTP/1.1 says and within Kestrel's limits; a broken or oversized one may
/// be reset without an answer.
/// </param>
/// <param name="HasCondition">Whether it carries an <c>If-Match</c> or <c>If-None-Match</c> line.</param>
internal sealed record FuzzCase(int Number, string Description, byte[] Bytes, bool WellFramed, bool HasCondition)
{
    /// <summary>Gets whether the sender half-closes after the request: only for a body shorter than its Content-Length.</summary>
    public bool HalfClose { get; init; }
}

/// <summary>
/// The accounts the fuzz run may name: alice's own (the demo token's user), one of bob's, and one of alice's that only
/// the conditional endpoint writes to, so that its small entry numbers in <c>If-Match</c> can match.
/// </summary>
internal sealed record FuzzAccounts(long Alice, long AliceSecond, long Bob, long AliceEntries);

/// <summary>
/// Makes seeded hostile requests to the BankLedger sample: Idempotency-Key values (hostile, huge, malformed Structured
/// Fields, duplicated), precondition headers, mirror markers, hosts, credentials, methods, paths, bodies and framing.
/// Each field is usually valid and sometimes not, so most requests reach deep into the pipeline with one or two bad parts.
/// </summary>
internal sealed class FuzzCaseGenerator(int seed, int port, FuzzAccounts accounts, string? mirrorSecret)
{
    private static readonly string[] s_hostileKeys =
    [
        "", " ", "\"\"", "\"", "\"abc", "abc\"", "\"a\\\"b\"", "\"a\\\\b\"", "a,b", "\"a\",\"b\"", "\"k\";p=1", "\"k\";", ";p=1", "?1",
        ":Ynl0ZXM=:", "@1700000000", "%\"x\"", "k;p=\"open", "\"k\" trailing", "(\"a\" \"b\")",
        "../../etc/passwd", "' OR 1=1 --", "${jndi:ldap://127.0.0.1/x}", "{{7*7}}", "<script>alert(1)</script>", "%00", "%0d%0aSet-Cookie:x=1",
        "a b", "a\tb", "\u0001", "ab\u001fcd", "\u007f", "é", "ключ", "🔑", "\u00a0k", "k\u00a0",
        new string('k', 255), new string('k', 256), new string('k', 1024), new string('k', 8_000), new string('x', 40_000),
        "\"" + new string('q', 255) + "\"", "\"" + new string('q', 256) + "\"", "shared-fuzz-key", "\"shared-fuzz-key\"",
    ];

    private static readonly string[] s_conditions =
    [
        "*", "\"0\"", "\"0\"", "\"1\"", "\"1\"", "\"2\"", "\"3\"", "\"5\"", "W/\"1\"", "\"1\", \"2\"", "*, \"1\"", "\"", "W/", "\"open", "abc", "\"\"", "\"a\"b\"",
        "", " ", "\u0001", "\"é\"", "\"" + new string('9', 40) + "\"", "\"-1\"", "\"1e3\"", new string('"', 300), "\"" + new string('t', 10_000) + "\"",
    ];

    private readonly Random _random = new(seed);

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
        var (method, target, body, bodyNote) = Target();
        var conditional = target.EndsWith("/entries", StringComparison.Ordinal);
        notes.Add($"{method} {Shorten(target)}");

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

        var authorization = Pick(0.8) ? "Bearer alice-token" : Choose("Bearer bob-token", null, "Bearer forged", "Bearer ", "Basic YWxpY2U6eA==", "Bearer " + new string('t', 10_000), "bearer alice-token");
        if (authorization is not null)
        {
            head.Add(("Authorization", Bytes(authorization)));
        }

        if (authorization != "Bearer alice-token")
        {
            notes.Add($"auth {Shorten(authorization ?? "none")}");
        }

        // Idempotency-Key: none, one, or several lines; a fresh valid key, a hostile value, or raw bytes.
        var keyLines = _random.NextDouble() switch { < 0.08 => 0, < 0.88 => 1, < 0.96 => 2, _ => _random.Next(3, 6) };
        for (var k = 0; k < keyLines; k++)
        {
            var key = KeyValue();
            head.Add(("Idempotency-Key", key.Value));
            notes.Add($"key {key.Note}");
        }

        var hasCondition = false;
        // The conditional endpoint gets a condition most of the time, often a plausible entry number, so some appends succeed.
        if (Pick(conditional ? 0.85 : 0.35))
        {
            var lines = Pick(0.9) ? 1 : 2;
            for (var c = 0; c < lines; c++)
            {
                var name = Pick(0.6) ? "If-Match" : "If-None-Match";
                var value = conditional && Pick(0.5) ? $"\"{_random.Next(0, 9)}\"" : Choose(s_conditions);
                head.Add((name, Bytes(value)));
                notes.Add($"{name} {Shorten(value)}");
                hasCondition = true;
            }
        }

        if (Pick(0.25))
        {
            var lines = Pick(0.9) ? 1 : 2;
            for (var m = 0; m < lines; m++)
            {
                var marker = Choose(mirrorSecret ?? "1", mirrorSecret ?? "true", "1", "wrong-secret", "", new string('s', 20_000), "é", "\u0001");
                head.Add(("X-Shadow-Request", Bytes(marker)));
                notes.Add($"marker {Shorten(marker)}");
            }
        }

        if (body is not null || Pick(0.05))
        {
            var type = Pick(0.85) ? "application/json" : Choose("text/plain", null, "application/json; charset=utf-16", "application/x-www-form-urlencoded", "application/json, text/plain", "application/" + new string('j', 5_000));
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
        request.Write(Encoding.ASCII.GetBytes($"{method} "));
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

        // A request far over Kestrel's limits may be answered (431, 413) and reset before it is all read.
        wellFramed &= request.Length < 32 * 1024 && !host.Contains(' ', StringComparison.Ordinal);
        return new FuzzCase(number, string.Join("; ", notes), request.ToArray(), wellFramed, hasCondition) { HalfClose = halfClose };
    }

    private (string Method, string Target, byte[]? Body, string BodyNote) Target()
    {
        var method = _random.NextDouble() switch
        {
            < 0.85 => "POST",
            < 0.9 => "GET",
            < 0.96 => Choose("PUT", "PATCH", "DELETE"),
            < 0.98 => Choose("HEAD", "OPTIONS"),
            _ => Choose("FOO", "post", "P\u0001ST"),
        };

        var a = accounts.Alice;
        var (path, kind) = _random.NextDouble() switch
        {
            < 0.25 => ($"/accounts/{a}/deposits", "amount"),
            < 0.40 => ($"/accounts/{a}/withdrawals", "amount"),
            < 0.55 => ("/transfers", "transfer"),
            < 0.65 => ("/accounts", "owner"),
            < 0.80 => ($"/accounts/{accounts.AliceEntries}/entries", "entry"),
            _ => Choose(
                ($"/accounts/999999/deposits", "amount"), ($"/accounts/{accounts.Bob}/deposits", "amount"), ("/accounts/abc/deposits", "amount"),
                ($"/accounts/{a}/deposits?amount=5", "amount"), ("/accounts/%2e%2e/deposits", "amount"), ($"/ACCOUNTS/{a}/DEPOSITS", "amount"),
                ($"http://127.0.0.1:{port}/accounts/{a}/deposits", "amount"), ($"/accounts/{a}/deposits/", "amount"), ("//accounts", "owner"),
                ($"/accounts/{a}/deposits#fragment", "amount"), ("*", "none"), ($"/accounts/{a}", "none"), ($"/accounts/{a}/deposits/../withdrawals", "amount"),
                ($"/accounts/{a}/deposits?" + new string('q', 9_000), "amount"), ($"/accounts/{a}/d\u00e9posits", "amount")),
        };

        if (method is "GET" or "HEAD" && Pick(0.8))
        {
            return (method, path, null, "no body");
        }

        if (Pick(0.62))
        {
            var valid = kind switch
            {
                "amount" => $"{{\"amount\":{_random.Next(1, 50)}}}",
                "transfer" => $"{{\"from\":{a},\"to\":{(Pick(0.7) ? accounts.AliceSecond : accounts.Bob)},\"amount\":{_random.Next(1, 50)}}}",
                "owner" => "{\"owner\":\"fuzz\"}",
                "entry" => $"{{\"amount\":{_random.Next(-20, 50)},\"memo\":\"fuzz\"}}",
                _ => string.Empty,
            };
            return (method, path, Encoding.UTF8.GetBytes(valid), valid.Length == 0 ? "empty body" : "valid body");
        }

        var hostile = Choose(
            "{", "{\"amount\":}", "{\"amount\":\"12\"}", "{\"amount\":1e400}", "{\"amount\":-5}", "{\"amount\":0}", "{\"amount\":9223372036854775807}",
            "{\"amount\":99999999999999999999}", "{\"amount\":1.5}", "[]", "null", "", "{\"amount\":1,\"amount\":2}", "deep", "huge string",
            "2 MiB", "invalid utf-8", "bom", $"{{\"from\":{a},\"to\":{a},\"amount\":1}}", $"{{\"from\":{a},\"to\":999999,\"amount\":1}}",
            "{\"amount\":5,\"memo\":\"" + new string('m', 300) + "\"}", "{\"owner\":\"<script>\\u0000\"}", "{\"owner\":\"" + new string('o', 100_000) + "\"}");
        byte[] body = hostile switch
        {
            "deep" => Encoding.ASCII.GetBytes(new string('[', 5_000) + new string(']', 5_000)),
            "huge string" => Encoding.ASCII.GetBytes("{\"amount\":\"" + new string('9', 200_000) + "\"}"),
            "2 MiB" => Encoding.ASCII.GetBytes(new string('a', 2 * 1024 * 1024)),
            "invalid utf-8" => [0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d],
            "bom" => [0xef, 0xbb, 0xbf, .. Encoding.UTF8.GetBytes("{\"amount\":3}")],
            _ => Encoding.UTF8.GetBytes(hostile),
        };
        return (method, path, body, "body " + Shorten(hostile));
    }

    private (byte[] Value, string Note) KeyValue()
    {
        var roll = _random.NextDouble();
        if (roll < 0.45)
        {
            var key = new Guid(RandomBytes(16)).ToString(); // from the seed, so that a run can be replayed
            return Pick(0.5) ? (Bytes(key), "fresh") : (Bytes($"\"{key}\""), "fresh quoted");
        }

        if (roll < 0.93)
        {
            var value = Choose(s_hostileKeys);
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

    private static string Shorten(string value)
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
