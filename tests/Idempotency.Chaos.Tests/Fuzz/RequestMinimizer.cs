using System.Text;

namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>
/// Shrinks a request that got a 5xx: drops its body, then each header line in turn, keeping every drop after which the
/// request still gets a 5xx, so that a failure report shows only what matters.
/// </summary>
internal static class RequestMinimizer
{
    private const int MaxAttempts = 40;

    // Framing and routing lines stay: without them the request is another request, or none.
    private static readonly string[] s_kept = ["host", "content-length", "transfer-encoding", "connection"];

    public static async Task<byte[]> MinimizeAsync(int port, byte[] request, bool halfClose, TimeSpan timeout)
    {
        var headEnd = request.AsSpan().IndexOf("\r\n\r\n"u8);
        if (headEnd < 0)
        {
            return request;
        }

        // Latin-1 maps every byte to one character and back, so the header bytes survive the round trip unchanged.
        var lines = Encoding.Latin1.GetString(request, 0, headEnd).Split("\r\n");
        var requestLine = lines[0];
        var headers = lines.Skip(1).ToList();
        var body = request[(headEnd + 4)..];
        var attempts = 0;

        async Task<bool> StillFailsAsync(List<string> candidateHeaders, byte[] candidateBody)
        {
            attempts++;
            var response = await RawHttp.SendAsync(port, Build(requestLine, candidateHeaders, candidateBody), halfClose, timeout);
            return response.Status >= 500;
        }

        if (body.Length > 0 && !headers.Any(h => Name(h) == "transfer-encoding"))
        {
            var withoutBody = headers.Select(h => Name(h) == "content-length" ? "Content-Length: 0" : h).ToList();
            if (await StillFailsAsync(withoutBody, []))
            {
                headers = withoutBody;
                body = [];
            }
        }

        for (var i = headers.Count - 1; i >= 0 && attempts < MaxAttempts; i--)
        {
            if (s_kept.Contains(Name(headers[i])))
            {
                continue;
            }

            var without = headers.Where((_, index) => index != i).ToList();
            if (await StillFailsAsync(without, body))
            {
                headers = without;
            }
        }

        return Build(requestLine, headers, body);
    }

    /// <summary>The request as printable text: control characters and bytes over 0x7e escaped, a long body cut.</summary>
    public static string Printable(byte[] request)
    {
        var text = Encoding.Latin1.GetString(request, 0, Math.Min(request.Length, 4_096));
        var escaped = string.Concat(text.Select(c => c switch
        {
            '\r' => "\\r",
            '\n' => "\\n" + Environment.NewLine,
            < ' ' or > '~' => $"\\x{(int)c:x2}",
            _ => c.ToString(),
        }));
        return request.Length > 4_096 ? $"{escaped}… ({request.Length:N0} bytes)" : escaped;
    }

    private static string Name(string headerLine) =>
        headerLine.Split(':', 2)[0].Trim().ToLowerInvariant();

    private static byte[] Build(string requestLine, List<string> headers, byte[] body) =>
        [.. Encoding.Latin1.GetBytes(requestLine + "\r\n" + string.Concat(headers.Select(h => h + "\r\n")) + "\r\n"), .. body];
}
