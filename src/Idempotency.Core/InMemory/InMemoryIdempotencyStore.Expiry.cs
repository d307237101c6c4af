using System.Runtime.InteropServices;

namespace Idempotency;

/// <summary>
/// The expiry schedule: every record is filed under the second (Unix time, rounded up) at which it may be deleted, in a
/// list linked through the record. Filing again (on completion) and leaving (release, eviction) unlink it, so the
/// schedule holds exactly the live records, each once, and a due second holds only records that have expired.
/// </summary>
/// <remarks>
/// A second is a dictionary entry holding its list's two ends (two <see langword="int"/>s): no object per second or per
/// record. There are at most as many as the distinct seconds in the retention (86,400 for a day).
/// </remarks>
internal sealed partial class InMemoryIdempotencyStore
{
    private const long NoSecond = long.MinValue;

    // Seconds before _nextDueSecond have been taken from _schedule; _due holds the records of _dueSecond still to remove.
    private readonly Dictionary<long, IndexList<BySecond>> _schedule = [];
    private long _nextDueSecond;
    private IndexList<BySecond> _due;
    private long _dueSecond = NoSecond;

    /// <summary>Removes every record that has expired now, as a full store does before it refuses or evicts.</summary>
    internal void RemoveExpiredRecords()
    {
        var now = _timeProvider.GetUtcNow().UtcTicks;
        lock (_lock)
        {
            ThrowIfDisposed();
            RemoveExpired(now, int.MaxValue);
        }
    }

    private void Schedule(int number, long removableAt)
    {
        // Never before the next second to be examined (a clock set back, a zero duration): filed later, a record is
        // examined later, and still only once it has expired.
        var second = Math.Max(DueSecond(removableAt), _nextDueSecond);
        At(number).Second = second;
        ref var scheduled = ref CollectionsMarshal.GetValueRefOrAddDefault(_schedule, second, out _);
        scheduled.AddLast(this, number);
    }

    private void Unschedule(int number)
    {
        var second = At(number).Second;
        if (second == _dueSecond)
        {
            _due.Remove(this, number);
            return;
        }

        ref var scheduled = ref CollectionsMarshal.GetValueRefOrNullRef(_schedule, second);
        scheduled.Remove(this, number);
        if (scheduled.First == 0)
        {
            _schedule.Remove(second); // an empty second costs nothing once it is gone
        }
    }

    /// <summary>Examines up to <paramref name="budget"/> due records, removing those that have expired.</summary>
    private void RemoveExpired(long now, int budget)
    {
        var nowSecond = SecondOf(now);
        while (budget > 0)
        {
            var number = _due.First;
            if (number == 0)
            {
                _dueSecond = NoSecond;
                if (!TryTakeDueSecond(nowSecond))
                {
                    return;
                }

                continue;
            }

            budget--;
            ExpiryChecks++;
            var removableAt = RemovableAt(in At(number));
            if (removableAt <= now)
            {
                Remove(number);
            }
            else
            {
                // Only when the clock went back since this second was taken: file it again, under a later second.
                Unschedule(number);
                Schedule(number, removableAt);
            }
        }
    }

    // Takes the earliest scheduled second that has come into _due, or returns false when none has.
    private bool TryTakeDueSecond(long nowSecond)
    {
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
            if (_schedule.Remove(_nextDueSecond, out _due))
            {
                _dueSecond = _nextDueSecond;
                _nextDueSecond++;
                return true;
            }
        }

        return false;
    }

    // The Unix second a time falls in, rounded down.
    private static long SecondOf(long utcTicks) => Math.DivRem(utcTicks - DateTimeOffset.UnixEpoch.UtcTicks, TimeSpan.TicksPerSecond) switch
    {
        (var seconds, < 0) => seconds - 1,
        (var seconds, _) => seconds,
    };

    // The time rounded up to a whole second: once the clock's second reaches it, every record filed there has expired.
    private static long DueSecond(long removableAt)
    {
        var seconds = SecondOf(removableAt);
        return removableAt > DateTimeOffset.UnixEpoch.UtcTicks + (seconds * TimeSpan.TicksPerSecond) ? seconds + 1 : seconds;
    }
}
