namespace Idempotency;

/// <summary>What a conditional write did.</summary>
public enum ConditionalWriteStatus
{
    /// <summary>The write happened; <see cref="ConditionalWriteResult.Version"/> is the new version.</summary>
    Applied = 1,

    /// <summary>
    /// Nothing was written: the record or stream is not at the expected version.
    /// <see cref="ConditionalWriteResult.Version"/> is the current version.
    /// </summary>
    VersionConflict = 2,

    /// <summary>Nothing was written: the record does not exist.</summary>
    NotFound = 3,
}
