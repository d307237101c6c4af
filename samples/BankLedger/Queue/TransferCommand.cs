using System.Text.Json;
using System.Text.Json.Serialization;
using BankLedger.Ledger;

namespace BankLedger.Queue;

/// <summary>
/// A transfer command as a producer puts it on the queue: <paramref name="UserId"/> moves <paramref name="Amount"/>
/// cents from their account <paramref name="From"/> to account <paramref name="To"/>.
/// </summary>
public sealed record TransferCommand(string UserId, long From, long To, long Amount)
{
    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, TransferQueueJsonContext.Default.TransferCommand);

    public static TransferCommand FromBytes(ReadOnlyMemory<byte> bytes) =>
        JsonSerializer.Deserialize(bytes.Span, TransferQueueJsonContext.Default.TransferCommand)
            ?? throw new JsonException("A transfer command's payload is empty.");
}

/// <summary>
/// What applying a transfer command came to, stored with its message id and returned to every redelivery: the transfer,
/// or the ledger's refusal (a refusal is a result too, so a redelivery does not try again).
/// </summary>
public sealed record TransferCommandOutcome(LedgerError Error, TransferView? Transfer);

[JsonSerializable(typeof(TransferCommand))]
[JsonSerializable(typeof(TransferCommandOutcome))]
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, UseStringEnumConverter = true)]
internal sealed partial class TransferQueueJsonContext : JsonSerializerContext;
