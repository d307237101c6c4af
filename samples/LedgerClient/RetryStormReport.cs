using System.Globalization;

namespace LedgerClient;

/// <summary>What the demo saw, and what the server says.</summary>
public sealed record RetryStormReport
{
    /// <summary>Gets the number of deposits and withdrawals sent.</summary>
    public required int Operations { get; init; }

    /// <summary>Gets how many operations the client saw succeed (201).</summary>
    public required int Succeeded { get; init; }

    /// <summary>Gets the balance the client expects: the sum of the operations it saw succeed.</summary>
    public required long ExpectedBalance { get; init; }

    /// <summary>Gets the balance the server reports at the end.</summary>
    public required long ActualBalance { get; init; }

    /// <summary>Gets how many ledger entries the server wrote for the account: one per applied operation.</summary>
    public required long ServerEntries { get; init; }

    /// <summary>Gets how many extra attempts were sent: resilience retries and re-sends after a 409 in flight.</summary>
    public required int Retried { get; init; }

    /// <summary>Gets how many operations were answered by the server's replay of an earlier attempt.</summary>
    public required int Replayed { get; init; }

    /// <summary>Gets how many operations ended in a refusal: insufficient funds, or any other error answer.</summary>
    public required int Rejected { get; init; }

    /// <summary>Gets how many operations never got an answer, even after every retry: their outcome is unknown.</summary>
    public required int Failed { get; init; }

    /// <summary>Gets how many attempts were lost before reaching the server.</summary>
    public required int DroppedRequests { get; init; }

    /// <summary>Gets how many responses were lost after the server applied the request.</summary>
    public required int DroppedResponses { get; init; }

    /// <summary>Gets whether the keys were kept across retries.</summary>
    public required bool UsedKeys { get; init; }

    /// <summary>Gets whether the server's books agree with the client's: same balance, one entry per success.</summary>
    public bool BalancesMatch => ExpectedBalance == ActualBalance && ServerEntries == Succeeded;

    /// <summary>Formats the report for the console.</summary>
    public string Format()
    {
        var c = CultureInfo.InvariantCulture;
        var lines = new List<string>
        {
            string.Create(c, $"keys kept across retries : {(UsedKeys ? "yes" : "no (a fresh key on every attempt)")}"),
            string.Create(c, $"operations               : {Operations} ({Succeeded} succeeded, {Rejected} rejected, {Failed} failed)"),
            string.Create(c, $"network                  : {DroppedRequests} requests lost, {DroppedResponses} responses lost after the server applied them"),
            string.Create(c, $"retried                  : {Retried}"),
            string.Create(c, $"replayed                 : {Replayed}"),
            string.Create(c, $"rejected                 : {Rejected}"),
            string.Create(c, $"expected balance         : {Money(ExpectedBalance)}"),
            string.Create(c, $"actual balance           : {Money(ActualBalance)}"),
            string.Create(c, $"ledger entries           : {ServerEntries} on the server for {Succeeded} successful operations"),
            BalancesMatch
                ? "result                   : MATCH: every operation was applied exactly once"
                : string.Create(c, $"result                   : MISMATCH: {Money(ActualBalance - ExpectedBalance)} and {ServerEntries - Succeeded} entries the client never asked for"),
        };
        return string.Join(Environment.NewLine, lines);
    }

    private static string Money(long cents) =>
        string.Create(CultureInfo.InvariantCulture, $"{(cents < 0 ? "-" : string.Empty)}${Math.Abs(cents) / 100:N0}.{Math.Abs(cents) % 100:00}");
}
