using System.Collections.Concurrent;
using System.Globalization;

namespace Idempotency.Chaos.Tests.Infrastructure;

/// <summary>
/// Every attempt a client really sent, counted under its retry policy: by status code, replayed or not, and by the
/// exception that ended it. Its handler also reads each answer's body whole, inside the attempt: a retry policy sees
/// only the headers, and an answer cut off in its body would otherwise fail later, in <see cref="HttpClient"/>,
/// after the policy has already returned (the chaos runs found every such operation lost without a retry).
/// </summary>
internal sealed class AttemptCounter
{
    private readonly ConcurrentDictionary<string, int> _outcomes = new(StringComparer.Ordinal);
    private int _attempts;
    private int _replays;

    public int Attempts => Volatile.Read(ref _attempts);

    /// <summary>Gets the number of answers that carried <c>Idempotent-Replayed: true</c>.</summary>
    public int Replays => Volatile.Read(ref _replays);

    public int Status(int statusCode) => _outcomes.GetValueOrDefault(statusCode.ToString(CultureInfo.InvariantCulture));

    /// <summary>Gets the number of attempts that ended without an answer (connection refused, reset, closed, timed out).</summary>
    public int Failed => _outcomes.Where(o => !char.IsDigit(o.Key[0])).Sum(o => o.Value);

    public string Summary => string.Join(", ", _outcomes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => $"{o.Key}: {o.Value}"));

    /// <summary>A handler that counts into this counter; a new one for every handler chain the factory builds.</summary>
    public DelegatingHandler CreateHandler() => new Handler(this);

    private void Answered(HttpResponseMessage response)
    {
        Interlocked.Increment(ref _attempts);
        _outcomes.AddOrUpdate(((int)response.StatusCode).ToString(CultureInfo.InvariantCulture), 1, static (_, n) => n + 1);
        if (response.IsIdempotentReplay())
        {
            Interlocked.Increment(ref _replays);
        }
    }

    private void Threw(Exception exception)
    {
        Interlocked.Increment(ref _attempts);
        var name = exception switch
        {
            OperationCanceledException => "attempt timed out",
            HttpRequestException { HttpRequestError: var error } => $"no answer ({error})",
            _ => exception.GetType().Name,
        };
        _outcomes.AddOrUpdate(name, 1, static (_, n) => n + 1);
    }

    private sealed class Handler(AttemptCounter counter) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            try
            {
                var response = await base.SendAsync(request, cancellationToken);
                try
                {
                    await response.Content.LoadIntoBufferAsync(cancellationToken);
                }
                catch
                {
                    response.Dispose();
                    throw;
                }

                counter.Answered(response);
                return response;
            }
            catch (Exception ex)
            {
                counter.Threw(ex);
                throw;
            }
        }
    }
}
