namespace Idempotency.Chaos.Tests.Ledger;

/// <summary>One side of a posting: an amount added to (or, negative, taken from) an account.</summary>
internal readonly record struct LedgerLeg(string Account, long Delta);

/// <summary>
/// The effect of one executed write: its operation id (the client's <c>X-Chaos-Op</c> header, stable across retries),
/// the idempotency key it ran under (<see langword="null"/> when it ran without the middleware's protection) and its legs.
/// </summary>
internal sealed record LedgerPosting(string OperationId, string? Key, IReadOnlyList<LedgerLeg> Legs);
