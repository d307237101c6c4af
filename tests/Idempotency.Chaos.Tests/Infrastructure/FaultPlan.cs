using System.Text;

namespace Idempotency.Chaos.Tests.Infrastructure;

/// <summary>What the proxy does to one request.</summary>
internal enum FaultKind
{
    /// <summary>Passed through untouched.</summary>
    None,

    /// <summary>Held for a short while, then passed through.</summary>
    Delay,

    /// <summary>Held longer than the client's per-attempt timeout, then passed through: the server runs a request the client gave up on.</summary>
    LongDelay,

    /// <summary>The connection is closed (FIN) after the request was read, before it reaches the server.</summary>
    DropBeforeRequest,

    /// <summary>The connection is reset (RST) before the request reaches the server.</summary>
    ResetBeforeRequest,

    /// <summary>The request reaches the server, which answers; the answer is thrown away and the connection closed (FIN).</summary>
    DropResponse,

    /// <summary>The request reaches the server, which answers; the answer is thrown away and the connection reset (RST).</summary>
    ResetAfterResponse,

    /// <summary>The request reaches the server; only part of its answer reaches the client, then the connection is reset.</summary>
    TruncateResponse,
}

/// <summary>
/// Chooses each request's fault from a seed, the request's operation id and its attempt number, so a run with the same
/// seed injects the same faults into the same attempts of the same operations, whatever order the concurrent clients'
/// connections arrive in. Probabilities are per attempt; whatever they leave is <see cref="FaultKind.None"/>.
/// </summary>
internal sealed record FaultPlan(int Seed)
{
    public double Delay { get; init; } = 0.08;

    public double LongDelay { get; init; } = 0.01;

    public double DropBeforeRequest { get; init; } = 0.05;

    public double ResetBeforeRequest { get; init; } = 0.04;

    public double DropResponse { get; init; } = 0.06;

    public double ResetAfterResponse { get; init; } = 0.04;

    public double TruncateResponse { get; init; } = 0.03;

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Gets how long a <see cref="FaultKind.LongDelay"/> holds a request: longer than the clients' per-attempt timeout.</summary>
    public TimeSpan LongDelayDuration { get; init; } = TimeSpan.FromSeconds(2.5);

    public (FaultKind Kind, TimeSpan Delay, double Fraction) Choose(string operation, int attempt)
    {
        var random = new Random(StableHash($"{Seed}/{operation}/{attempt}"));
        var roll = random.NextDouble();
        var delay = TimeSpan.FromMilliseconds(random.NextDouble() * MaxDelay.TotalMilliseconds);
        var fraction = random.NextDouble();
        foreach (var (kind, probability) in (ReadOnlySpan<(FaultKind, double)>)
                 [
                     (FaultKind.Delay, Delay), (FaultKind.LongDelay, LongDelay), (FaultKind.DropBeforeRequest, DropBeforeRequest),
                     (FaultKind.ResetBeforeRequest, ResetBeforeRequest), (FaultKind.DropResponse, DropResponse),
                     (FaultKind.ResetAfterResponse, ResetAfterResponse), (FaultKind.TruncateResponse, TruncateResponse),
                 ])
        {
            if (roll < probability)
            {
                return (kind, kind == FaultKind.LongDelay ? LongDelayDuration : delay, fraction);
            }

            roll -= probability;
        }

        return (FaultKind.None, TimeSpan.Zero, fraction);
    }

    /// <summary>FNV-1a: unlike <see cref="string.GetHashCode()"/>, the same in every process.</summary>
    private static int StableHash(string text)
    {
        var hash = 2166136261u;
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            hash = (hash ^ b) * 16777619u;
        }

        return unchecked((int)hash);
    }
}
