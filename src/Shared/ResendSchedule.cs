using System.Diagnostics;

namespace Idempotency;

/// <summary>
/// How long, and after which pauses, a store sends again a call that a fail-over or a lost connection kept from its
/// server: for <see cref="Window"/> after the call's first failure, or until the moment given to the constructor when
/// that is later (a completion: the end of its claim's lease, until which nobody else can run the work); pausing 20,
/// then 100, then 250 ms before each new attempt. One per call, as a local: it counts that call's failures. Which
/// failures are worth sending again is the store's to say.
/// </summary>
internal struct ResendSchedule
{
    /// <summary>How long after a call's first failure it may still be sent again, at least.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    private readonly DateTimeOffset? _until;
    private long _firstFailure;
    private int _failures;

    /// <summary>Starts counting a call's failures.</summary>
    /// <param name="until">
    /// Until when the call may still be sent again, when that is later than <see cref="Window"/> after its first failure
    /// (compared with this machine's clock); <see langword="null"/> for the window alone.
    /// </param>
    public ResendSchedule(DateTimeOffset? until)
    {
        _until = until;
    }

    /// <summary>Gets whether the call has failed (and been allowed to go again) before.</summary>
    public readonly bool HasFailed => _failures > 0;

    /// <summary>Gets whether the call has been allowed to go again exactly once so far: its first resend, the one to log.</summary>
    public readonly bool IsFirstResend => _failures == 1;

    /// <summary>The pause before every attempt from the third failure on.</summary>
    public static readonly TimeSpan LongestPause = TimeSpan.FromMilliseconds(250);

    /// <summary>Gets the pause before the next attempt: 20 ms after the first failure, 100 after the second, then <see cref="LongestPause"/>.</summary>
    public readonly TimeSpan NextPause => _failures switch { 1 => TimeSpan.FromMilliseconds(20), 2 => TimeSpan.FromMilliseconds(100), _ => LongestPause };

    /// <summary>Gets whether the call may still be sent again now.</summary>
    public readonly bool IsWithinTime =>
        _failures == 0 || Stopwatch.GetElapsedTime(_firstFailure) < Window || _until > DateTimeOffset.UtcNow;

    /// <summary>Counts a failure of the call if it may still be sent again, and says whether it may.</summary>
    public bool TryCountFailure()
    {
        if (!IsWithinTime)
        {
            return false;
        }

        if (_failures == 0)
        {
            _firstFailure = Stopwatch.GetTimestamp();
        }

        _failures++;
        return true;
    }
}
