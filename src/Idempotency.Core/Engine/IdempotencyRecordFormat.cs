namespace Idempotency;

/// <summary>The versions of the envelope that every stored idempotency record is wrapped in.</summary>
/// <remarks>
/// A release reads records of its own version and of the one before, and writes the one before until
/// <see cref="IdempotencyEngineOptions.RecordFormat"/> says otherwise, so that instances of two releases can share a
/// store during a rolling deploy: set the new version once no instance of the previous release is left.
/// </remarks>
public enum IdempotencyRecordFormat
{
    /// <summary>
    /// Version 1: a version byte (1), the <see cref="IdempotencyRecordKind"/> byte, then the content. Written by every
    /// release before the engine, and read by all of them.
    /// </summary>
    Version1 = 1,

    /// <summary>
    /// Version 2: a version byte (2), the kind byte, the time the record was completed (int64 milliseconds since the
    /// Unix epoch, big-endian), then the content. Replays can then say how old the outcome they return is.
    /// Releases before the engine refuse it (they answer 503 for such a record), so write it only when none is left.
    /// </summary>
    Version2 = 2,
}
