using System.Buffers;

namespace Idempotency.AspNetCore.Deduplication;

/// <summary>
/// An <see cref="IBufferWriter{T}"/> that hands each written chunk to a fingerprint's body, or drops it, and reuses one
/// pooled array: a filtered JSON body is hashed as it is written, never held. Disposing it returns the array.
/// </summary>
internal sealed class FingerprintBodyWriter(RequestFingerprintBuilder? fingerprint) : IBufferWriter<byte>, IDisposable
{
    private const int MinimumSize = 4 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(MinimumSize);

    public void Advance(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _buffer.Length);
        fingerprint?.AppendBody(_buffer.AsSpan(0, count));
    }

    public Memory<byte> GetMemory(int sizeHint = 0) => Ensure(sizeHint);

    public Span<byte> GetSpan(int sizeHint = 0) => Ensure(sizeHint);

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }

    // Every Advance hands its bytes over, so each GetMemory starts the array afresh.
    private byte[] Ensure(int sizeHint)
    {
        if (sizeHint > _buffer.Length)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
            _buffer = [];
            _buffer = ArrayPool<byte>.Shared.Rent(sizeHint);
        }

        return _buffer;
    }
}
