namespace Idempotency.AspNetCore.Mirroring;

/// <summary>What the guard on a canary did with a mirrored copy.</summary>
public enum MirrorGuardAction
{
    /// <summary>The copy ran: it is mirror-safe for the canary's data mode.</summary>
    Executed,

    /// <summary>The copy did not run: the guard answered 403 with a <c>mirror-write-suppressed</c> problem.</summary>
    Suppressed,

    /// <summary>The copy would have been suppressed, but ran because the guard is in report-only mode.</summary>
    WouldSuppress,
}
