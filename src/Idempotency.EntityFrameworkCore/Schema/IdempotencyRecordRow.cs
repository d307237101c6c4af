namespace Idempotency.EntityFrameworkCore;

/// <summary>
/// One row of the idempotency records table, as the application's model maps it
/// (<c>modelBuilder.AddIdempotencyRecords()</c>). The store reads and writes it only through its own SQL; the type is
/// in the model so that the application's migrations create the table.
/// </summary>
internal sealed class IdempotencyRecordRow
{
    public string Key { get; set; } = string.Empty;

    public short State { get; set; }

    public string? OwnerToken { get; set; }

    public byte[] Fingerprint { get; set; } = [];

    public byte[]? Payload { get; set; }

    public short FormatVersion { get; set; }

    public DateTimeOffset ExpiresAt { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}
