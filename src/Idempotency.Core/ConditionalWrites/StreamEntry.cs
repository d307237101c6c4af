namespace Idempotency;

/// <summary>One entry of an append-only stream (a ledger's line): its sequence number and its payload.</summary>
/// <param name="Sequence">The entry's position: 1 for the first entry, N + 1 for the entry appended after entry N.</param>
/// <param name="Payload">The entry's payload, as appended.</param>
public sealed record StreamEntry(long Sequence, ReadOnlyMemory<byte> Payload);
