using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Idempotency.Http.Tests.Client;

/// <summary>
/// A minimal HTTP/1.1 server on 127.0.0.1, one request per connection, that lets a test write any bytes as the
/// response: an endless body, a Content-Length it never honours. Kestrel would not send those, a hostile server would.
/// </summary>
internal sealed class LoopbackHttpServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Func<LoopbackRequest, Stream, CancellationToken, Task> _respond;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;

    /// <param name="respond">Writes the whole response, status line included, for the request; the connection closes after it.</param>
    public LoopbackHttpServer(Func<LoopbackRequest, Stream, CancellationToken, Task> respond)
    {
        _respond = respond;
        _listener.Start();
        Uri = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _accepting = AcceptAsync();
    }

    public Uri Uri { get; }

    /// <summary>Every request received, in order.</summary>
    public List<LoopbackRequest> Requests { get; } = [];

    /// <summary>The body as a stream of <paramref name="count"/> bytes: <paramref name="prefix"/>, then 'a' to 'z' over and over.</summary>
    public static byte[] Body(string prefix, int count)
    {
        var bytes = new byte[count];
        var head = Encoding.ASCII.GetBytes(prefix);
        for (var i = 0; i < count; i++)
        {
            bytes[i] = i < head.Length ? head[i] : (byte)('a' + ((i - head.Length) % 26));
        }

        return bytes;
    }

    /// <summary>Writes status line and headers; every response closes its connection.</summary>
    public static Task WriteHeadAsync(Stream stream, string statusLine, string headers, CancellationToken cancellationToken) =>
        stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {statusLine}\r\nConnection: close\r\n{headers}\r\n"), cancellationToken).AsTask();

    /// <summary>Writes <paramref name="body"/> as chunks and never the last chunk, then waits for the client to hang up.</summary>
    public static async Task WriteEndlessChunkedAsync(Stream stream, byte[] body, CancellationToken cancellationToken)
    {
        for (var offset = 0; offset < body.Length; offset += 4096)
        {
            var count = Math.Min(4096, body.Length - offset);
            await stream.WriteAsync(Encoding.ASCII.GetBytes(count.ToString("x", CultureInfo.InvariantCulture) + "\r\n"), cancellationToken);
            await stream.WriteAsync(body.AsMemory(offset, count), cancellationToken);
            await stream.WriteAsync("\r\n"u8.ToArray(), cancellationToken);
        }

        await WaitForHangUpAsync(stream, cancellationToken);
    }

    /// <summary>Waits until the client closes the connection.</summary>
    public static async Task WaitForHangUpAsync(Stream stream, CancellationToken cancellationToken)
    {
        var buffer = new byte[1024];
        try
        {
            while (await stream.ReadAsync(buffer, cancellationToken) > 0)
            {
            }
        }
        catch (IOException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections];
        }

        try
        {
            await Task.WhenAll([_accepting, .. connections]);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
        {
        }

        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            var client = await _listener.AcceptTcpClientAsync(_stopping.Token);
            lock (_connections)
            {
                _connections.Add(ServeAsync(client));
            }
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var request = await ReadRequestAsync(stream, _stopping.Token);
            lock (Requests)
            {
                Requests.Add(request);
            }

            await _respond(request, stream, _stopping.Token);
            await stream.FlushAsync(_stopping.Token);
        }
    }

    private static async Task<LoopbackRequest> ReadRequestAsync(Stream stream, CancellationToken cancellationToken)
    {
        var lines = new List<string>();
        while (await ReadLineAsync(stream, cancellationToken) is { Length: > 0 } line)
        {
            lines.Add(line);
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon].Trim()] = line[(colon + 1)..].Trim();
        }

        var body = new MemoryStream();
        if (headers.TryGetValue("Content-Length", out var length))
        {
            await CopyExactlyAsync(stream, body, int.Parse(length, CultureInfo.InvariantCulture), cancellationToken);
        }
        else if (headers.TryGetValue("Transfer-Encoding", out var encoding) && encoding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            while (int.Parse((await ReadLineAsync(stream, cancellationToken)).Split(';')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture) is var size and > 0)
            {
                await CopyExactlyAsync(stream, body, size, cancellationToken);
                await ReadLineAsync(stream, cancellationToken);
            }

            await ReadLineAsync(stream, cancellationToken);
        }

        var parts = lines[0].Split(' ');
        return new LoopbackRequest(parts[0], parts[1], headers, body.ToArray());
    }

    private static async Task CopyExactlyAsync(Stream from, MemoryStream to, int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[count];
        await from.ReadExactlyAsync(buffer, cancellationToken);
        to.Write(buffer);
    }

    private static async Task<string> ReadLineAsync(Stream stream, CancellationToken cancellationToken)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (true)
        {
            await stream.ReadExactlyAsync(one, cancellationToken);
            if (one[0] == '\n')
            {
                return line.ToString().TrimEnd('\r');
            }

            line.Append((char)one[0]);
        }
    }
}

/// <summary>A request as the loopback server read it off the wire.</summary>
internal sealed record LoopbackRequest(string Method, string Target, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    public string? Key => Headers.TryGetValue("Idempotency-Key", out var key) ? key : null;
}
