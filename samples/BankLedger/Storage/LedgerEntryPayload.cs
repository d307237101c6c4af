using System.Text.Json;
using System.Text.Json.Serialization;

namespace BankLedger.Storage;

/// <summary>What a ledger entry's stream payload holds: the amount, the balance after it and the memo. Its number is its sequence.</summary>
public sealed record LedgerEntryPayload(long Amount, long Balance, string? Memo)
{
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, LedgerJsonContext.Default.LedgerEntryPayload);

    public static LedgerEntryPayload FromBytes(ReadOnlyMemory<byte> bytes) =>
        JsonSerializer.Deserialize(bytes.Span, LedgerJsonContext.Default.LedgerEntryPayload)
            ?? throw new InvalidOperationException("A ledger entry's payload is empty.");
}

[JsonSerializable(typeof(LedgerEntryPayload))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
internal sealed partial class LedgerJsonContext : JsonSerializerContext;
