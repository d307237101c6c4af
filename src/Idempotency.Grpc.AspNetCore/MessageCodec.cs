using System.Buffers;
using Grpc.Core;

namespace Idempotency.Grpc.AspNetCore;

/// <summary>
/// Turns messages into bytes and back with the method's own marshallers, through their contextual API: code generated
/// by Grpc.Tools implements only that one (its simple <c>Serializer</c> throws).
/// </summary>
internal static class MessageCodec
{
    public static byte[] Serialize<T>(Marshaller<T> marshaller, T message)
    {
        var context = new BufferSerializationContext();
        marshaller.ContextualSerializer(message, context);
        return context.Payload ?? throw new InvalidOperationException("The gRPC marshaller completed without a payload.");
    }

    public static T Deserialize<T>(Marshaller<T> marshaller, byte[] payload) =>
        marshaller.ContextualDeserializer(new BufferDeserializationContext(payload));

    private sealed class BufferSerializationContext : SerializationContext
    {
        private ArrayBufferWriter<byte>? _writer;

        public byte[]? Payload { get; private set; }

        public override void Complete(byte[] payload) => Payload = payload;

        public override IBufferWriter<byte> GetBufferWriter() => _writer ??= new ArrayBufferWriter<byte>();

        public override void SetPayloadLength(int payloadLength)
        {
        }

        public override void Complete() => Payload = _writer?.WrittenSpan.ToArray() ?? [];
    }

    private sealed class BufferDeserializationContext(byte[] payload) : DeserializationContext
    {
        public override int PayloadLength => payload.Length;

        public override byte[] PayloadAsNewBuffer() => (byte[])payload.Clone();

        public override ReadOnlySequence<byte> PayloadAsReadOnlySequence() => new(payload);
    }
}
