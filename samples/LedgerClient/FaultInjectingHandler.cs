namespace LedgerClient;

/// <summary>
/// The unreliable network, inside the resilience pipeline so that every retry crosses it: it loses a share of the
/// requests before they reach the server, and a share of the responses after the server applied the request (the
/// money moved, the answer never arrived: the case that makes retries dangerous).
/// </summary>
public sealed class FaultInjectingHandler(double dropRequests, double dropResponses, int seed) : DelegatingHandler
{
    private readonly Random _random = new(seed);
    private readonly Lock _lock = new();
    private int _attempts;
    private int _droppedRequests;
    private int _droppedResponses;

    /// <summary>Gets how many attempts crossed the network, retries included.</summary>
    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>Gets how many attempts were lost before reaching the server.</summary>
    public int DroppedRequests => Volatile.Read(ref _droppedRequests);

    /// <summary>Gets how many responses were lost after the server had applied the request.</summary>
    public int DroppedResponses => Volatile.Read(ref _droppedResponses);

    /// <summary>Gets or sets whether faults are injected; off while the demo sets up its account and reads the balance.</summary>
    public bool Enabled { get; set; } = true;

    /// <inheritdoc />
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _attempts);
        double roll;
        lock (_lock)
        {
            roll = _random.NextDouble();
        }

        if (Enabled && roll < dropRequests)
        {
            Interlocked.Increment(ref _droppedRequests);
            throw new HttpRequestException("Injected fault: the request was lost on its way to the server.");
        }

        var response = await base.SendAsync(request, cancellationToken);
        if (Enabled && roll < dropRequests + dropResponses)
        {
            Interlocked.Increment(ref _droppedResponses);
            response.Dispose();
            throw new HttpRequestException("Injected fault: the server applied the request, and its response was lost.");
        }

        return response;
    }
}
