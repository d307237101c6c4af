namespace Idempotency;

/// <summary>
/// Versioned records in process memory, under one lock: each operation is atomic because it runs entirely under it.
/// For tests and single-instance services; records are kept until the process ends.
/// </summary>
internal sealed class InMemoryVersionedRecordStore : IVersionedRecordStore
{
    private readonly Dictionary<string, VersionedRecord> _records = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public ValueTask<VersionedRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        lock (_lock)
        {
            return ValueTask.FromResult(_records.GetValueOrDefault(id));
        }
    }

    public ValueTask<ConditionalWriteResult> CreateAsync(string id, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        var copy = value.ToArray(); // outside the lock: the caller may reuse its buffer after the call
        lock (_lock)
        {
            if (_records.TryGetValue(id, out var existing))
            {
                return ValueTask.FromResult(ConditionalWriteResult.VersionConflict(existing.Version));
            }

            _records.Add(id, new VersionedRecord(1, copy));
            return ValueTask.FromResult(ConditionalWriteResult.Applied(1));
        }
    }

    public ValueTask<ConditionalWriteResult> UpdateIfVersionAsync(string id, long expectedVersion, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(id);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        var copy = value.ToArray();
        lock (_lock)
        {
            if (!_records.TryGetValue(id, out var current))
            {
                return ValueTask.FromResult(ConditionalWriteResult.NotFound());
            }

            if (current.Version != expectedVersion)
            {
                return ValueTask.FromResult(ConditionalWriteResult.VersionConflict(current.Version));
            }

            _records[id] = new VersionedRecord(expectedVersion + 1, copy);
            return ValueTask.FromResult(ConditionalWriteResult.Applied(expectedVersion + 1));
        }
    }
}
