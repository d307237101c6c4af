namespace Idempotency;

/// <summary>A record read from an <see cref="IVersionedRecordStore"/>: its value and the version that value has.</summary>
/// <param name="Version">The record's version: 1 when created, one more after each update.</param>
/// <param name="Value">The record's value, as written.</param>
public sealed record VersionedRecord(long Version, ReadOnlyMemory<byte> Value);
