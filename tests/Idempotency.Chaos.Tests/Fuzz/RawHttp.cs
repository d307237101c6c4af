using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Idempotency.Chaos.Tests.Fuzz;

/// <summary>What came back for one raw request: the status (null when the connection ended without an answer) and the body.</summary>
internal sealed record RawResponse(int? Status, IReadOnlyDictionary<string, string> Headers, byte[] Body, string? Error)
{
    /// <summary>Gets the <c>type</c> of a problem body, or <see langword="null"/>.</summary>
    public string? ProblemType
    {
        get
        {
            if (Body.Length == 0 || !Headers.TryGetValue("content-type", out var type) || !type.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }

            try
            {
                using var document = JsonDocument.Parse(Body);
                return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("type", out var t) ? t.GetString() : null;
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    public bool Replayed => Headers.TryGetValue("idempotent-replayed", out var value) && value == "true";
}

/// <summary>
/// Sends bytes that <see cref="HttpClient"/> would refuse to send (control characters, duplicated or huge headers,
/// broken framing) over a raw TCP connection to 127.0.0.1, and reads the answer until the server closes.
/// </summary>
internal static class RawHttp
{
    public static async Task<RawResponse> SendAsync(int port, byte[] request, bool halfClose, TimeSpan timeout)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(timeout);
        var received = new MemoryStream();
        string? error = null;
        try
        {
            await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
            try
            {
                await socket.SendAsync(request, SocketFlags.None, cts.Token);
                if (halfClose)
                {
                    socket.Shutdown(SocketShutdown.Send);
                }
            }
            catch (SocketException ex)
            {
                // The server may answer (431, 413) and close before reading everything: read what it said anyway.
                error = "send: " + ex.SocketErrorCode;
            }

            var buffer = new byte[16 * 1024];
            int read;
            while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, cts.Token)) > 0)
            {
                received.Write(buffer, 0, read);
            }
        }
        catch (SocketException ex)
        {
            error = (error is null ? string.Empty : error + "; ") + "receive: " + ex.SocketErrorCode;
        }
        catch (OperationCanceledException)
        {
            error = (error is null ? string.Empty : error + "; ") + "timed out";
        }

        return Parse(received.ToArray(), error);
    }

    private static RawResponse Parse(byte[] bytes, string? error)
    {
        var headEnd = bytes.AsSpan().IndexOf("\r\n\r\n"u8);
        if (headEnd < 0)
        {
            return new RawResponse(null, new Dictionary<string, string>(), [], error ?? (bytes.Length == 0 ? "no answer" : "incomplete answer"));
        }

        var lines = Encoding.Latin1.GetString(bytes, 0, headEnd).Split("\r\n");
        var status = lines[0].Split(' ') is [_, var code, ..] && int.TryParse(code, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? s : (int?)null;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                headers.TryAdd(line[..colon].Trim().ToLowerInvariant(), line[(colon + 1)..].Trim());
            }
        }

        var body = bytes[(headEnd + 4)..];
        if (headers.TryGetValue("transfer-encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }

        return new RawResponse(status, headers, body, error);
    }

    private static byte[] Dechunk(byte[] chunked)
    {
        var output = new MemoryStream();
        var position = 0;
        while (position < chunked.Length)
        {
            var lineEnd = chunked.AsSpan(position).IndexOf("\r\n"u8);
            if (lineEnd < 0 || !int.TryParse(Encoding.ASCII.GetString(chunked, position, lineEnd).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var size) || size == 0)
            {
                break;
            }

            position += lineEnd + 2;
            output.Write(chunked, position, Math.Min(size, chunked.Length - position));
            position += size + 2;
        }

        return output.ToArray();
    }
}
