using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Grpc.Core;

namespace Idempotency.Grpc.AspNetCore;

/// <summary>
/// The content of an <see cref="IdempotencyRecordKind.GrpcResponse"/> record, inside the engine's envelope. Version 1:
/// <c>version:u8 | status:i32 | detail:str | hasMessage:u8 [message:bytes] | headers | trailers</c>, where a str or
/// bytes is an i32 length then the bytes (UTF-8 for text), and metadata is an i32 count then, per entry,
/// <c>key:str | binary:u8 | value:bytes</c>. Integers are big-endian. Version 2, an outcome whose version 1 content was
/// over <c>MaxStoredBodySize</c>, keeps only its status code: <c>version:u8 | status:i32</c>. A reader refuses a version
/// it does not know (so a release that predates version 2 answers it UNAVAILABLE, never as a reply without a message).
/// </summary>
internal static class GrpcResponseFormat
{
    private const byte Version1 = 1;
    private const byte Version2Omitted = 2;

    /// <summary>The length of <paramref name="response"/>'s version 1 content, computed without writing it.</summary>
    public static long EncodedLength(StoredGrpcResponse response)
    {
        var length = 1L + 4 + StringLength(response.Status.Detail ?? string.Empty) + 1 + (response.Message is { } message ? 4L + message.Length : 0);
        return length + MetadataLength(response.Headers) + MetadataLength(response.Trailers);
    }

    /// <summary>The content of an outcome too large to store: its status code, without detail, message or metadata.</summary>
    public static IdempotencyRecordContent OmittedContent(StatusCode statusCode)
    {
        var content = new byte[5];
        content[0] = Version2Omitted;
        BinaryPrimitives.WriteInt32BigEndian(content.AsSpan(1), (int)statusCode);
        return IdempotencyRecordContent.FromBytes(IdempotencyRecordKind.GrpcResponse, content);
    }

    public static IdempotencyRecordContent Content(StoredGrpcResponse response)
    {
        var writer = new ArrayBufferWriter<byte>(64 + (response.Message?.Length ?? 0));
        WriteByte(writer, Version1);
        WriteInt32(writer, (int)response.Status.StatusCode);
        WriteString(writer, response.Status.Detail ?? string.Empty);
        if (response.Message is { } message)
        {
            WriteByte(writer, 1);
            WriteBytes(writer, message);
        }
        else
        {
            WriteByte(writer, 0);
        }

        WriteMetadata(writer, response.Headers);
        WriteMetadata(writer, response.Trailers);
        return IdempotencyRecordContent.FromBytes(IdempotencyRecordKind.GrpcResponse, writer.WrittenMemory);
    }

    /// <exception cref="InvalidDataException">The content is corrupt, or of a version this release does not read.</exception>
    public static StoredGrpcResponse Read(ReadOnlyMemory<byte> content)
    {
        var reader = new Reader(content.Span);
        try
        {
            var version = reader.ReadByte();
            if (version == Version2Omitted)
            {
                var code = (StatusCode)reader.ReadInt32();
                return reader.AtEnd
                    ? StoredGrpcResponse.Omitted(code)
                    : throw new InvalidDataException("The stored gRPC response has bytes after its status code; it is corrupt.");
            }

            if (version != Version1)
            {
                throw new InvalidDataException($"The stored gRPC response is of format version {version}, which this release does not read.");
            }

            var status = new Status((StatusCode)reader.ReadInt32(), reader.ReadString());
            var message = reader.ReadByte() == 1 ? reader.ReadBytes().ToArray() : null;
            var headers = reader.ReadMetadata();
            var trailers = reader.ReadMetadata();
            if (!reader.AtEnd)
            {
                throw new InvalidDataException("The stored gRPC response has bytes after its trailers; it is corrupt.");
            }

            return new StoredGrpcResponse(status, message, headers, trailers);
        }
        catch (Exception ex) when (ex is ArgumentException or IndexOutOfRangeException)
        {
            // A read past the end, or a metadata key that Metadata refuses.
            throw new InvalidDataException("The stored gRPC response is truncated or malformed; it is corrupt.", ex);
        }
    }

    private static long StringLength(string value) => 4L + Encoding.UTF8.GetByteCount(value);

    private static long MetadataLength(Metadata metadata)
    {
        var length = 4L;
        foreach (var entry in metadata)
        {
            length += StringLength(entry.Key) + 1 + (entry.IsBinary ? 4L + entry.ValueBytes.Length : StringLength(entry.Value));
        }

        return length;
    }

    private static void WriteMetadata(ArrayBufferWriter<byte> writer, Metadata metadata)
    {
        WriteInt32(writer, metadata.Count);
        foreach (var entry in metadata)
        {
            WriteString(writer, entry.Key);
            WriteByte(writer, entry.IsBinary ? (byte)1 : (byte)0);
            if (entry.IsBinary)
            {
                WriteBytes(writer, entry.ValueBytes);
            }
            else
            {
                WriteString(writer, entry.Value);
            }
        }
    }

    private static void WriteByte(ArrayBufferWriter<byte> writer, byte value)
    {
        writer.GetSpan(1)[0] = value;
        writer.Advance(1);
    }

    private static void WriteInt32(ArrayBufferWriter<byte> writer, int value)
    {
        BinaryPrimitives.WriteInt32BigEndian(writer.GetSpan(4), value);
        writer.Advance(4);
    }

    private static void WriteBytes(ArrayBufferWriter<byte> writer, ReadOnlySpan<byte> value)
    {
        WriteInt32(writer, value.Length);
        writer.Write(value);
    }

    private static void WriteString(ArrayBufferWriter<byte> writer, string value)
    {
        var length = Encoding.UTF8.GetByteCount(value);
        WriteInt32(writer, length);
        Encoding.UTF8.GetBytes(value, writer.GetSpan(length));
        writer.Advance(length);
    }

    private ref struct Reader(ReadOnlySpan<byte> content)
    {
        private ReadOnlySpan<byte> _remaining = content;

        public readonly bool AtEnd => _remaining.IsEmpty;

        public byte ReadByte()
        {
            var value = _remaining[0];
            _remaining = _remaining[1..];
            return value;
        }

        public int ReadInt32()
        {
            var value = BinaryPrimitives.ReadInt32BigEndian(_remaining);
            _remaining = _remaining[4..];
            return value;
        }

        public ReadOnlySpan<byte> ReadBytes()
        {
            var length = ReadInt32();
            if (length < 0 || length > _remaining.Length)
            {
                throw new InvalidDataException("The stored gRPC response has a length beyond its end; it is corrupt.");
            }

            var value = _remaining[..length];
            _remaining = _remaining[length..];
            return value;
        }

        public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

        public Metadata ReadMetadata()
        {
            var count = ReadInt32();
            if (count < 0 || count > _remaining.Length)
            {
                throw new InvalidDataException("The stored gRPC response has an impossible metadata count; it is corrupt.");
            }

            var metadata = new Metadata();
            for (var i = 0; i < count; i++)
            {
                var key = ReadString();
                if (ReadByte() == 1)
                {
                    metadata.Add(key, ReadBytes().ToArray());
                }
                else
                {
                    metadata.Add(key, ReadString());
                }
            }

            return metadata;
        }
    }
}
