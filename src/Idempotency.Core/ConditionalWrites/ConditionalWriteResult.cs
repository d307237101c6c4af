using System.Globalization;

namespace Idempotency;

/// <summary>
/// The outcome of a write made only when the target is at an expected version: applied (with the new version),
/// refused because of a version conflict (with the current version), or refused because the target does not exist.
/// </summary>
/// <remarks>
/// In ASP.NET Core, <c>result.ToHttpResult()</c> turns it into 200/201 with <c>ETag</c>, 412 with the current
/// <c>ETag</c>, or 404.
/// </remarks>
public readonly struct ConditionalWriteResult : IEquatable<ConditionalWriteResult>
{
    private ConditionalWriteResult(ConditionalWriteStatus status, long version)
    {
        Status = status;
        Version = version;
    }

    /// <summary>Gets what the write did.</summary>
    public ConditionalWriteStatus Status { get; }

    /// <summary>
    /// Gets the version after the call: the new version for <see cref="ConditionalWriteStatus.Applied"/>, the current
    /// (unchanged) version for <see cref="ConditionalWriteStatus.VersionConflict"/>, and 0 for
    /// <see cref="ConditionalWriteStatus.NotFound"/>. For a stream, the version is its last sequence number.
    /// </summary>
    public long Version { get; }

    /// <summary>Gets whether the write happened.</summary>
    public bool IsApplied => Status == ConditionalWriteStatus.Applied;

    /// <summary>The write happened and the target is now at <paramref name="newVersion"/>.</summary>
    /// <param name="newVersion">The version after the write; zero or more.</param>
    /// <returns>An <see cref="ConditionalWriteStatus.Applied"/> result.</returns>
    public static ConditionalWriteResult Applied(long newVersion)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(newVersion);
        return new(ConditionalWriteStatus.Applied, newVersion);
    }

    /// <summary>Nothing was written because the target is at <paramref name="currentVersion"/>, not at the expected version.</summary>
    /// <param name="currentVersion">The target's current version; zero or more.</param>
    /// <returns>A <see cref="ConditionalWriteStatus.VersionConflict"/> result.</returns>
    public static ConditionalWriteResult VersionConflict(long currentVersion)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(currentVersion);
        return new(ConditionalWriteStatus.VersionConflict, currentVersion);
    }

    /// <summary>Nothing was written because the target does not exist.</summary>
    /// <returns>A <see cref="ConditionalWriteStatus.NotFound"/> result.</returns>
    public static ConditionalWriteResult NotFound() => new(ConditionalWriteStatus.NotFound, 0);

    /// <summary>Tells whether two results are equal.</summary>
    /// <param name="left">The first result.</param>
    /// <param name="right">The second result.</param>
    /// <returns><see langword="true"/> when both have the same status and version.</returns>
    public static bool operator ==(ConditionalWriteResult left, ConditionalWriteResult right) => left.Equals(right);

    /// <summary>Tells whether two results differ.</summary>
    /// <param name="left">The first result.</param>
    /// <param name="right">The second result.</param>
    /// <returns><see langword="true"/> when the status or the version differ.</returns>
    public static bool operator !=(ConditionalWriteResult left, ConditionalWriteResult right) => !left.Equals(right);

    /// <inheritdoc />
    public bool Equals(ConditionalWriteResult other) => Status == other.Status && Version == other.Version;

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is ConditionalWriteResult other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Status, Version);

    /// <summary>Describes the result, such as <c>Applied(564)</c> or <c>VersionConflict(564)</c>.</summary>
    /// <returns>The status and the version.</returns>
    public override string ToString() => Status == ConditionalWriteStatus.NotFound
        ? nameof(ConditionalWriteStatus.NotFound)
        : string.Create(CultureInfo.InvariantCulture, $"{Status}({Version})");
}
