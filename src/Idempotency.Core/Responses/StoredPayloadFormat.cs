using System.Buffers.Binary;
using System.Text;

namespace Idempotency;

/// <summary>
/// The versioned binary format of stored payloads. Stores keep these bytes opaque; only this class reads them,
/// so the format can evolve while old records stay readable.
/// </summary>
/// <remarks>
/// Layout, all integers big-endian:
/// <code>
/// byte    format version (1)
/// byte    kind: 1 = HTTP response, 2 = operation result, 3 = HTTP outcome unknown
/// kind 1: int16 status, byte flags (bit 0: body omitted), uint16 header count,
///         per header: string name, uint16 value count, string values...; int32 body length, body
/// kind 2: int32 length, result bytes
/// kind 3: int16 status of the response that had started when the request failed
/// string: int32 UTF-8 byte count, bytes
/// </code>
/// </remarks>
internal static class StoredPayloadFormat
{
    public const byte CurrentVersion = 1;
    private const byte HttpResponseKind = 1;
    private const byte OperationResultKind = 2;

    // A kind of its own, not a flag on kind 1: a reader that does not know it must refuse the record (503), never
    // replay the partial response as if it were the outcome.
    private const byte OutcomeUnknownKind = 3;
    private const byte BodyOmittedFlag = 1;

    public static byte[] EncodeResponse(StoredResponse response)
    {
        var size = 2 + 2 + 1 + 2 + 4 + response.Body.Length;
        foreach (var (name, values) in response.Headers)
        {
            size += 4 + Encoding.UTF8.GetByteCount(name) + 2;
            foreach (var value in values)
            {
                size += 4 + Encoding.UTF8.GetByteCount(value);
            }
        }

        var buffer = new byte[size];
        var writer = new SpanWriter(buffer);
        writer.WriteByte(CurrentVersion);
        writer.WriteByte(HttpResponseKind);
        writer.WriteInt16((short)response.StatusCode);
        writer.WriteByte(response.BodyOmitted ? BodyOmittedFlag : (byte)0);
        writer.WriteUInt16(checked((ushort)response.Headers.Count));
        foreach (var (name, values) in response.Headers)
        {
            writer.WriteString(name);
            writer.WriteUInt16(checked((ushort)values.Length));
            foreach (var value in values)
            {
                writer.WriteString(value);
            }
        }

        writer.WriteBytes(response.Body.Span);
        return buffer;
    }

    /// <summary>Decodes a stored response; its body is a slice of <paramref name="payload"/>, not a copy.</summary>
    public static StoredResponse DecodeResponse(ReadOnlyMemory<byte> payload)
    {
        var reader = new SpanReader(payload.Span);
        ReadHeader(ref reader, HttpResponseKind);
        var status = ReadStatus(ref reader);
        var flags = reader.ReadByte();
        var headerCount = reader.ReadUInt16();
        var headers = new KeyValuePair<string, string[]>[headerCount];
        for (var i = 0; i < headerCount; i++)
        {
            var name = reader.ReadString();
            if (!IsHeaderName(name))
            {
                throw new InvalidDataException("The stored idempotency record holds a header name with whitespace, a control character or a colon; it is corrupt.");
            }

            var values = new string[reader.ReadUInt16()];
            for (var v = 0; v < values.Length; v++)
            {
                values[v] = reader.ReadString();
                if (!IsFieldValue(values[v]))
                {
                    throw new InvalidDataException("The stored idempotency record holds a header value with a control character; it is corrupt.");
                }
            }

            headers[i] = new(name, values);
        }

        var (bodyOffset, bodyLength) = reader.ReadBytesRange();
        reader.EnsureEnd();
        return new StoredResponse(status, headers, payload.Slice(bodyOffset, bodyLength), (flags & BodyOmittedFlag) != 0);
    }

    /// <summary>Encodes the record of a request that failed after its response had started with <paramref name="statusCode"/>.</summary>
    public static byte[] EncodeOutcomeUnknown(int statusCode)
    {
        var buffer = new byte[4];
        var writer = new SpanWriter(buffer);
        writer.WriteByte(CurrentVersion);
        writer.WriteByte(OutcomeUnknownKind);
        writer.WriteInt16((short)statusCode);
        return buffer;
    }

    /// <summary>Whether <paramref name="payload"/> records an outcome unknown, and the status its response had started with.</summary>
    public static bool IsOutcomeUnknown(ReadOnlySpan<byte> payload, out int startedStatusCode)
    {
        startedStatusCode = 0;
        if (payload.Length < 2 || payload[0] != CurrentVersion || payload[1] != OutcomeUnknownKind)
        {
            return false;
        }

        var reader = new SpanReader(payload);
        ReadHeader(ref reader, OutcomeUnknownKind);
        startedStatusCode = ReadStatus(ref reader);
        reader.EnsureEnd();
        return true;
    }

    public static byte[] EncodeOperationResult(ReadOnlySpan<byte> result)
    {
        var buffer = new byte[2 + 4 + result.Length];
        var writer = new SpanWriter(buffer);
        writer.WriteByte(CurrentVersion);
        writer.WriteByte(OperationResultKind);
        writer.WriteBytes(result);
        return buffer;
    }

    public static ReadOnlySpan<byte> DecodeOperationResult(ReadOnlySpan<byte> payload)
    {
        var reader = new SpanReader(payload);
        ReadHeader(ref reader, OperationResultKind);
        var result = reader.ReadBytes();
        reader.EnsureEnd();
        return result;
    }

    private static int ReadStatus(ref SpanReader reader)
    {
        var status = reader.ReadInt16();
        if (status is < 100 or > 999)
        {
            throw new InvalidDataException($"The stored idempotency record holds status {status}, which is not an HTTP status; it is corrupt.");
        }

        return status;
    }

    // Structure only: what could split or end the header block (whitespace, controls, a colon) is refused here; the
    // server's own validation of names and values applies when the replay sets them.
    private static bool IsHeaderName(string value)
    {
        if (value.Length == 0)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is <= ' ' or ':' or '\u007f')
            {
                return false;
            }
        }

        return true;
    }

    // A field value may hold any character but controls (horizontal tab aside): a stored CR or LF must never reach a response.
    private static bool IsFieldValue(string value)
    {
        foreach (var c in value)
        {
            if ((c < ' ' && c != '\t') || c == '\u007f')
            {
                return false;
            }
        }

        return true;
    }

    private static void ReadHeader(ref SpanReader reader, byte expectedKind)
    {
        var version = reader.ReadByte();
        if (version != CurrentVersion)
        {
            throw new InvalidDataException($"The stored idempotency record has format version {version}; this library reads version {CurrentVersion}. Upgrade the library, or let the record expire.");
        }

        var kind = reader.ReadByte();
        if (kind != expectedKind)
        {
            throw new InvalidDataException($"The stored idempotency record holds kind {kind}, not kind {expectedKind}: the same key was used by an HTTP endpoint and by an executor operation.");
        }
    }

    private ref struct SpanWriter(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;
        private int _position;

        public void WriteByte(byte value) => _buffer[_position++] = value;

        public void WriteInt16(short value)
        {
            BinaryPrimitives.WriteInt16BigEndian(_buffer[_position..], value);
            _position += 2;
        }

        public void WriteUInt16(ushort value)
        {
            BinaryPrimitives.WriteUInt16BigEndian(_buffer[_position..], value);
            _position += 2;
        }

        public void WriteString(string value)
        {
            var count = Encoding.UTF8.GetBytes(value, _buffer[(_position + 4)..]);
            BinaryPrimitives.WriteInt32BigEndian(_buffer[_position..], count);
            _position += 4 + count;
        }

        public void WriteBytes(ReadOnlySpan<byte> value)
        {
            BinaryPrimitives.WriteInt32BigEndian(_buffer[_position..], value.Length);
            value.CopyTo(_buffer[(_position + 4)..]);
            _position += 4 + value.Length;
        }
    }

    private ref struct SpanReader(ReadOnlySpan<byte> buffer)
    {
        private readonly ReadOnlySpan<byte> _buffer = buffer;
        private int _position;

        public byte ReadByte() => _buffer[Advance(1)];

        public short ReadInt16() => BinaryPrimitives.ReadInt16BigEndian(_buffer[Advance(2)..]);

        public ushort ReadUInt16() => BinaryPrimitives.ReadUInt16BigEndian(_buffer[Advance(2)..]);

        public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

        public ReadOnlySpan<byte> ReadBytes()
        {
            var (offset, length) = ReadBytesRange();
            return _buffer.Slice(offset, length);
        }

        public (int Offset, int Length) ReadBytesRange()
        {
            var length = BinaryPrimitives.ReadInt32BigEndian(_buffer[Advance(4)..]);
            if (length < 0)
            {
                throw Truncated();
            }

            return (Advance(length), length);
        }

        public readonly void EnsureEnd()
        {
            if (_position != _buffer.Length)
            {
                throw new InvalidDataException("The stored idempotency record has trailing bytes; it is corrupt.");
            }
        }

        private int Advance(int count)
        {
            if (count > _buffer.Length - _position)
            {
                throw Truncated();
            }

            var start = _position;
            _position += count;
            return start;
        }

        private static InvalidDataException Truncated() => new("The stored idempotency record is truncated; it is corrupt.");
    }
}
