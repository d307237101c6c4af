using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;

namespace Idempotency;

/// <summary>
/// The expiry schedule: every record is filed under the second (Unix time, rounded up) at which it may be deleted, in a
/// list linked through the record. Filing again (on completion) and leaving (release, eviction) unlink it, so the
/// schedule holds exactly the live records, each once, and a due second holds only records that have expired.
/// </summary>
internal sealed partial class InMemoryIdempotencyStore
{
    // Seconds before _nextDueSecond have been taken from _schedule; _dueSecond holds the records still to remove.
    private readonly Dictionary<long, ScheduledSecond> _schedule = [];
    private long _nextDueSecond;
    private ScheduledSecond? _dueSecond;

    /// <summary>Removes every record that has expired now, as a full store does before it refuses or evicts.</summary>
    internal void RemoveExpiredRecords()
    {
        var now = _timeProvider.GetUtcNow();
        lock (_lock)
        {
            RemoveExpired(now, int.MaxValue);
        }
    }

    private void Schedule(Entry entry, DateTimeOffset removableAt)
    {
        // Never before the next second to be examined (a clock set back, a zero duration): filed later, a record is
        // examined later, and still only once it has expired.
        var second = Math.Max(DueSecond(removableAt), _nextDueSecond);
        ref var scheduled = ref CollectionsMarshal.GetValueRefOrAddDefault(_schedule, second, out _);
        scheduled ??= new ScheduledSecond(second);
        scheduled.Link(entry);
    }

    private void Unschedule(Entry entry)
    {
        var scheduled = entry.Second!;
        scheduled.Unlink(entry);
        if (scheduled.First is null && scheduled != _dueSecond)
        {
            _schedule.Remove(scheduled.Value); // an empty second costs nothing once it is gone
        }
    }

    /// <summary>Examines up to <paramref name="budget"/> due records, removing those that have expired.</summary>
    private void RemoveExpired(DateTimeOffset now, int budget)
    {
        var nowSecond = now.ToUnixTimeSeconds();
        while (budget > 0)
        {
            if (_dueSecond?.First is null)
            {
                _dueSecond = null;
                if (!TryTakeDueSecond(nowSecond, out _dueSecond))
                {
                    return;
                }

                continue;
            }

            var entry = _dueSecond.First;
            budget--;
            ExpiryChecks++;
            var removableAt = RemovableAt(entry);
            if (removableAt <= now)
            {
                Remove(entry);
            }
            else
            {
                // Only when the clock went back since this second was taken: file it again, under a later second.
                Unschedule(entry);
                Schedule(entry, removableAt);
            }
        }
    }

    // The earliest scheduled second that has come, or false when none has.
    private bool TryTakeDueSecond(long nowSecond, [NotNullWhen(true)] out ScheduledSecond? scheduled)
    {
        scheduled = null;
        if (_schedule.Count == 0 || _nextDueSecond > nowSecond)
        {
            return false;
        }

        // Step through the seconds, or, after a long quiet spell, through the scheduled ones, whichever is fewer.
        if (nowSecond - _nextDueSecond > _schedule.Count)
        {
            var earliest = long.MaxValue;
            foreach (var second in _schedule.Keys)
            {
                earliest = Math.Min(earliest, second);
            }

            _nextDueSecond = Math.Max(_nextDueSecond, earliest);
        }

        for (; _nextDueSecond <= nowSecond; _nextDueSecond++)
        {
            if (_schedule.Remove(_nextDueSecond, out scheduled))
            {
                _nextDueSecond++;
                return true;
            }
        }

        return false;
    }

    // The time rounded up to a whole second: once the clock's second reaches it, every record filed there has expired.
    private static long DueSecond(DateTimeOffset removableAt)
    {
        var seconds = removableAt.ToUnixTimeSeconds();
        return removableAt > DateTimeOffset.FromUnixTimeSeconds(seconds) ? seconds + 1 : seconds;
    }

    /// <summary>The records filed under one second of the schedule, in a list linked through them.</summary>
    private sealed class ScheduledSecond(long value)
    {
        public long Value { get; } = value;

        public Entry? First => _entries.First;

        public void Link(Entry entry)
        {
            entry.Second = this;
            _entries.AddLast(entry);
        }

        public void Unlink(Entry entry)
        {
            _entries.Remove(entry);
            entry.Second = null;
        }

        private IntrusiveList<Entry, Entry.BySecond> _entries;
    }
}
