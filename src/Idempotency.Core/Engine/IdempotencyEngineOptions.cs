using System.ComponentModel.DataAnnotations;

namespace Idempotency;

/// <summary>Options of <see cref="IdempotencyEngine"/>, shared by every adapter in the application (middleware, executor, gRPC).</summary>
public sealed class IdempotencyEngineOptions
{
    /// <summary>
    /// Gets or sets the envelope version new records are written in. Records of this release's version and of the one
    /// before are always read.
    /// </summary>
    /// <value>
    /// The default is <see cref="IdempotencyRecordFormat.Version1"/>, which every earlier release reads, so that
    /// instances of the previous release keep replaying during a rolling deploy. Set
    /// <see cref="IdempotencyRecordFormat.Version2"/> once every instance that shares the store runs this release.
    /// </value>
    [EnumDataType(typeof(IdempotencyRecordFormat))]
    public IdempotencyRecordFormat RecordFormat { get; set; } = IdempotencyRecordFormat.Version1;

    /// <summary>
    /// Gets or sets the secret that keys the hashes that log events carry instead of keys and scopes (HMAC-SHA256).
    /// Give every instance the same secret to look a request up by the key a client reports.
    /// </summary>
    /// <value>
    /// The default, when <see langword="null"/>, is the ASP.NET Core middleware's <c>IdempotencyOptions.AuditHashSecret</c>
    /// when that is set, otherwise a random secret per process: hashes then correlate one instance's events but cannot be
    /// recomputed from a key. When set, at least 16 characters.
    /// </value>
    [MinStringLength(IdempotencyDefaults.MinAuditHashSecretLength)]
    public string? AuditHashSecret { get; set; }
}
