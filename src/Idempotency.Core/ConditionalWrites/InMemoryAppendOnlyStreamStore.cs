namespace Idempotency;

/// <summary>
/// Append-only streams in process memory, under one lock: each operation is atomic because it runs entirely under it.
/// For tests and single-instance services; entries are kept until the process ends.
/// </summary>
internal sealed class InMemoryAppendOnlyStreamStore : IAppendOnlyStreamStore
{
    private readonly Dictionary<string, List<StreamEntry>> _streams = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Gets how many streams hold at least one entry: the streams the store keeps in memory.</summary>
    internal int StreamsHeld
    {
        get
        {
            lock (_lock)
            {
                return _streams.Count;
            }
        }
    }

    public ValueTask<ConditionalWriteResult> AppendIfLastAsync(string stream, long expectedLastSequence, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ArgumentOutOfRangeException.ThrowIfNegative(expectedLastSequence);
        var copy = payload.ToArray(); // outside the lock: the caller may reuse its buffer after the call
        lock (_lock)
        {
            // Entries are numbered 1..Count with no gaps, so the last sequence is the count (0 for a stream never appended to).
            var last = _streams.TryGetValue(stream, out var entries) ? entries.Count : 0;
            if (last != expectedLastSequence)
            {
                // A refusal keeps nothing: any client can name any stream, and an empty list kept per name would grow for good.
                return ValueTask.FromResult(ConditionalWriteResult.VersionConflict(last));
            }

            if (entries is null)
            {
                entries = [];
                _streams.Add(stream, entries);
            }

            entries.Add(new StreamEntry(expectedLastSequence + 1, copy));
            return ValueTask.FromResult(ConditionalWriteResult.Applied(expectedLastSequence + 1));
        }
    }

    public ValueTask<long> GetLastSequenceAsync(string stream, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        lock (_lock)
        {
            return ValueTask.FromResult<long>(_streams.TryGetValue(stream, out var entries) ? entries.Count : 0);
        }
    }

    public ValueTask<IReadOnlyList<StreamEntry>> ReadAsync(string stream, long fromSequence, int maxCount, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(fromSequence, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        lock (_lock)
        {
            if (!_streams.TryGetValue(stream, out var entries) || fromSequence > entries.Count)
            {
                return ValueTask.FromResult<IReadOnlyList<StreamEntry>>([]);
            }

            var start = (int)(fromSequence - 1);
            var count = Math.Min(maxCount, entries.Count - start);
            return ValueTask.FromResult<IReadOnlyList<StreamEntry>>(entries.GetRange(start, count).ToArray());
        }
    }
}
