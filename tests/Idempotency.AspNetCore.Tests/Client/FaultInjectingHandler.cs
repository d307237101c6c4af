namespace Idempotency.AspNetCore.Tests.Client;

/// <summary>
/// Sits inside the resilience handler, in front of the server: for each attempt, a decision loses the request before
/// it reaches the server, or lets the server apply it and loses the response on the way back, like a connection reset.
/// </summary>
internal sealed class FaultInjectingHandler(Func<HttpRequestMessage, Fault> decide) : DelegatingHandler
{
    private int _droppedRequests;
    private int _droppedResponses;

    public int DroppedRequests => _droppedRequests;

    public int DroppedResponses => _droppedResponses;

    /// <summary>Gets the paths whose responses were lost at least once.</summary>
    public HashSet<string> LostResponsePaths { get; } = [];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var fault = decide(request);
        if (fault == Fault.DropRequest)
        {
            Interlocked.Increment(ref _droppedRequests);
            throw new HttpRequestException("Injected fault: the request was lost before it reached the server.");
        }

        var response = await base.SendAsync(request, cancellationToken);
        if (fault == Fault.DropResponse)
        {
            Interlocked.Increment(ref _droppedResponses);
            lock (LostResponsePaths)
            {
                LostResponsePaths.Add(request.RequestUri!.AbsolutePath);
            }

            response.Dispose();
            throw new HttpRequestException("Injected fault: the server applied the request, and its response was lost.");
        }

        return response;
    }
}

internal enum Fault
{
    None,
    DropRequest,
    DropResponse,
}
