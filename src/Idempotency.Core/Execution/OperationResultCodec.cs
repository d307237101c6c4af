using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Idempotency;

/// <summary>
/// The content of an <see cref="IdempotencyRecordKind.OperationResult"/> record: an int32 length (big-endian), then the
/// result's JSON. Every release has written exactly this, so that records outlive the release that wrote them.
/// </summary>
internal static class OperationResultCodec
{
    public static readonly IdempotencyRecordContent NoResult = IdempotencyRecordContent.FromBytes(IdempotencyRecordKind.OperationResult, new byte[sizeof(int)]);

    public static IdempotencyRecordContent Encode<TResult>(TResult result, JsonTypeInfo<TResult> resultType)
    {
        var json = JsonSerializer.SerializeToUtf8Bytes(result, resultType);
        var content = new byte[sizeof(int) + json.Length];
        BinaryPrimitives.WriteInt32BigEndian(content, json.Length);
        json.CopyTo(content, sizeof(int));
        return IdempotencyRecordContent.FromBytes(IdempotencyRecordKind.OperationResult, content);
    }

    public static ReadOnlySpan<byte> Decode(ReadOnlySpan<byte> content)
    {
        if (content.Length < sizeof(int) || BinaryPrimitives.ReadInt32BigEndian(content) != content.Length - sizeof(int))
        {
            throw new InvalidDataException("The stored operation result has the wrong length; it is corrupt.");
        }

        return content[sizeof(int)..];
    }
}
