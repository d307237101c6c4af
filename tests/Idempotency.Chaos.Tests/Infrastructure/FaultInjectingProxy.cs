using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Idempotency.Chaos.Tests.Infrastructure;

/// <summary>
/// A TCP proxy on 127.0.0.1 that injects network faults between HTTP/1.1 clients and a server: it reads each request
/// whole (head and <c>Content-Length</c> body), asks the <see cref="FaultPlan"/> what to do with it, and drops, resets,
/// delays or forwards it, and the same for the answer. One request per connection: clients send <c>Connection: close</c>.
/// Which request gets which fault depends only on the seed, the request's <c>X-Chaos-Op</c> header and how many times
/// the proxy has seen that operation; requests without the header pass untouched.
/// </summary>
internal sealed class FaultInjectingProxy : IAsyncDisposable
{
    private const int MaxHeadBytes = 64 * 1024;
    private static readonly TimeSpan s_connectionGuard = TimeSpan.FromSeconds(30);

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly IPEndPoint _upstream;
    private readonly FaultPlan _plan;
    private readonly string _operationHeader;
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, int> _attempts = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, bool> _connections = new();
    private readonly int[] _faults = new int[Enum.GetValues<FaultKind>().Length];
    private Task? _acceptLoop;
    private int _forwarded;

    public FaultInjectingProxy(Uri upstream, FaultPlan plan, string operationHeader)
    {
        if (!IPAddress.IsLoopback(IPAddress.Parse(upstream.Host)))
        {
            throw new ArgumentException("The proxy only forwards to 127.0.0.1.", nameof(upstream));
        }

        _upstream = new IPEndPoint(IPAddress.Parse(upstream.Host), upstream.Port);
        _plan = plan;
        _operationHeader = operationHeader;
    }

    public Uri BaseAddress => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");

    /// <summary>Gets the number of requests that reached the server whole.</summary>
    public int Forwarded => Volatile.Read(ref _forwarded);

    public int Count(FaultKind kind) => Volatile.Read(ref _faults[(int)kind]);

    public int Connections => _faults.Sum();

    public void Start()
    {
        _listener.Start(backlog: 512);
        _acceptLoop = AcceptAsync();
    }

    /// <summary>Waits until every connection the proxy accepted is finished, delayed requests included.</summary>
    public async Task DrainAsync(TimeSpan guard)
    {
        using var timeout = new CancellationTokenSource(guard);
        while (!_connections.IsEmpty)
        {
            await Task.WhenAll(_connections.Keys).WaitAsync(timeout.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _listener.Stop();
        if (_acceptLoop is not null)
        {
            await _acceptLoop;
        }

        await Task.WhenAll(_connections.Keys);
        _stopping.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stopping.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            var connection = HandleAsync(client);
            _connections.TryAdd(connection, true);
            _ = connection.ContinueWith(t => _connections.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task HandleAsync(Socket client)
    {
        await Task.Yield();
        using var guard = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        guard.CancelAfter(s_connectionGuard);
        var ct = guard.Token;
        try
        {
            using (client)
            {
                var request = await ReadRequestAsync(client, ct);
                if (request is null)
                {
                    return;
                }

                var (fault, delay, fraction) = request.Operation is { } operation
                    ? _plan.Choose(operation, _attempts.AddOrUpdate(operation, 1, static (_, n) => n + 1))
                    : (FaultKind.None, TimeSpan.Zero, 0);
                Interlocked.Increment(ref _faults[(int)fault]);

                switch (fault)
                {
                    case FaultKind.DropBeforeRequest:
                        client.Shutdown(SocketShutdown.Both);
                        return;
                    case FaultKind.ResetBeforeRequest:
                        Reset(client);
                        return;
                    case FaultKind.Delay or FaultKind.LongDelay:
                        // The request was read whole: it reaches the server even if the client gave up meanwhile.
                        await Task.Delay(delay, ct);
                        break;
                }

                using var upstream = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await upstream.ConnectAsync(_upstream, ct);
                await SendAllAsync(upstream, request.Bytes, ct);
                Interlocked.Increment(ref _forwarded);

                switch (fault)
                {
                    case FaultKind.DropResponse:
                        await ReadToEndAsync(upstream, ct);
                        client.Shutdown(SocketShutdown.Both);
                        break;
                    case FaultKind.ResetAfterResponse:
                        await ReadToEndAsync(upstream, ct);
                        Reset(client);
                        break;
                    case FaultKind.TruncateResponse:
                        var response = await ReadToEndAsync(upstream, ct);
                        await SendAllAsync(client, response.AsMemory(0, (int)(response.Length * fraction)), ct);
                        Reset(client);
                        break;
                    default:
                        await PumpAsync(upstream, client, ct);
                        client.Shutdown(SocketShutdown.Send);
                        break;
                }
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client or the server went away, or the proxy is stopping: the connection simply ends.
        }
    }

    private async Task<ProxiedRequest?> ReadRequestAsync(Socket client, CancellationToken ct)
    {
        var buffer = new byte[8192];
        var length = 0;
        int headEnd;
        while ((headEnd = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8)) < 0)
        {
            if (length == buffer.Length)
            {
                if (buffer.Length >= MaxHeadBytes)
                {
                    return null;
                }

                Array.Resize(ref buffer, buffer.Length * 2);
            }

            var read = await client.ReceiveAsync(buffer.AsMemory(length), SocketFlags.None, ct);
            if (read == 0)
            {
                return null;
            }

            length += read;
        }

        var head = Encoding.Latin1.GetString(buffer, 0, headEnd);
        var total = headEnd + 4 + (int.TryParse(Header(head, "Content-Length"), NumberStyles.None, CultureInfo.InvariantCulture, out var body) ? body : 0);
        if (total > buffer.Length)
        {
            Array.Resize(ref buffer, total);
        }

        while (length < total)
        {
            var read = await client.ReceiveAsync(buffer.AsMemory(length, total - length), SocketFlags.None, ct);
            if (read == 0)
            {
                return null;
            }

            length += read;
        }

        return new ProxiedRequest(buffer.AsMemory(0, length), Header(head, _operationHeader));
    }

    private static string? Header(string head, string name)
    {
        foreach (var line in head.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                return line[(colon + 1)..].Trim();
            }
        }

        return null;
    }

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> bytes, CancellationToken ct)
    {
        while (!bytes.IsEmpty)
        {
            var sent = await socket.SendAsync(bytes, SocketFlags.None, ct);
            bytes = bytes[sent..];
        }
    }

    private static async Task<byte[]> ReadToEndAsync(Socket socket, CancellationToken ct)
    {
        using var all = new MemoryStream();
        var buffer = new byte[8192];
        int read;
        while ((read = await socket.ReceiveAsync(buffer, SocketFlags.None, ct)) > 0)
        {
            all.Write(buffer, 0, read);
        }

        return all.ToArray();
    }

    private static async Task PumpAsync(Socket from, Socket to, CancellationToken ct)
    {
        var buffer = new byte[8192];
        int read;
        while ((read = await from.ReceiveAsync(buffer, SocketFlags.None, ct)) > 0)
        {
            await SendAllAsync(to, buffer.AsMemory(0, read), ct);
        }
    }

    private static void Reset(Socket socket)
    {
        socket.LingerState = new LingerOption(true, 0);
        socket.Close();
    }

    private sealed record ProxiedRequest(ReadOnlyMemory<byte> Bytes, string? Operation);
}
