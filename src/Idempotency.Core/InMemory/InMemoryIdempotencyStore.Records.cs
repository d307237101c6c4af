using System.Runtime.CompilerServices;

namespace Idempotency;

/// <summary>
/// Where the records live: out of the garbage collector's way. Each record is a struct without object references in
/// chunks of <see cref="ChunkSize"/> (arrays the collector never scans, on the large object heap so it never moves
/// them); its bytes (key, fingerprint, owner token, then the payload) are one block of native memory from the store's
/// <see cref="NativeBlockHeap"/> (slabs of huge pages once the store is busy); the index from
/// key to record is an open-addressing table of <see langword="long"/>s. A million records are then about three hundred
/// objects the collector knows of, not several million, and a full collection costs the same at any size.
/// </summary>
/// <remarks>
/// Records are numbered from 1 (0 means "none" in every link); a removed record's number goes on a free list and is
/// given to the next new one. Chunks are never returned: the store keeps the room its busiest moment needed, within
/// <see cref="InMemoryIdempotencyStoreOptions.MaxEntries"/>.
/// </remarks>
internal sealed unsafe partial class InMemoryIdempotencyStore
{
    private const int ChunkShift = 14;
    private const int ChunkSize = 1 << ChunkShift; // 16,384 records, 1.5 MiB a chunk
    private const int ChunkMask = ChunkSize - 1;
    private const int InitialSlots = 1 << 10;

    // What a record costs besides its key, fingerprint and payload: its struct, its index slots (at most 3/4 full, so
    // up to two and a bit longs; counted as two) and 16 bytes for its block's rounding up to a size class of the heap
    // (at most 15 bytes for blocks up to 256 bytes, at most 1/8 of larger ones).
    private static readonly int EntryOverheadBytes = Unsafe.SizeOf<Record>() + (2 * sizeof(long)) + 16;

    private Record[][] _chunks = [];
    private int _highWater = 1; // record 0 is never used: it is "none"
    private int _freeRecords;
    private int _count;

    // The index: each slot is 0 (empty) or the key's 32-bit hash in the high half and the record's number in the low
    // half, so a probe compares keys only when the hashes match, and growing never reads a record.
    private long[] _slots = new long[InitialSlots];

    // The next, doubled index, allocated and written to (so the kernel maps its pages) on a thread-pool thread, queued by
    // a claim that finds the index half full: the doubling under the lock then only moves slots. Before, a store growing
    // past three million records stopped every claim for a third of a second while the kernel mapped 64 MiB of fresh
    // pages for the new index (over a second at six million), on this project's benchmark machine.
    private long[]? _nextSlots;
    private int _preparingNextSlots;
    private const int SlotsPreparedAheadFrom = 1 << 16; // 512 KiB of slots: below that, a doubling costs little
    private readonly NativeBlockHeap _heap = new();
    private bool _disposed;

    ~InMemoryIdempotencyStore() => FreeBlocks();

    /// <summary>Frees the native memory of every record; the store refuses every call afterwards.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            FreeBlocks();
        }

        GC.SuppressFinalize(this);
    }

    private static int HashOf(string key) => string.GetHashCode(key.AsSpan(), StringComparison.Ordinal);

    private static ReadOnlySpan<char> KeyOf(in Record record) => new((void*)record.Block, record.KeyLength);

    private static ReadOnlySpan<byte> FingerprintOf(in Record record) =>
        new((byte*)record.Block + (record.KeyLength * sizeof(char)), record.FingerprintLength);

    // The owner token while in flight and the payload once completed share the place after the fingerprint (padded to
    // an even offset so the token's characters are aligned): a completed record no longer needs its owner.
    private static int TailOffset(in Record record) => (record.KeyLength * sizeof(char)) + ((record.FingerprintLength + 1) & ~1);

    private static ReadOnlySpan<char> OwnerOf(in Record record) => new((byte*)record.Block + TailOffset(record), record.OwnerLength);

    private static ReadOnlySpan<byte> PayloadOf(in Record record) => new((byte*)record.Block + TailOffset(record), record.PayloadLength);

    // The size the block was allocated with: one of the owner token and the payload is always empty.
    private static int BlockSizeOf(in Record record) => TailOffset(record) + (record.OwnerLength * sizeof(char)) + record.PayloadLength;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private ref Record At(int record) => ref _chunks[record >> ChunkShift][record & ChunkMask];

    private void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_disposed, this);

    /// <summary>The record that holds <paramref name="key"/>, or 0.</summary>
    private int Find(string key, int hash)
    {
        var slots = _slots;
        var mask = slots.Length - 1;
        for (var i = hash & mask; ; i = (i + 1) & mask)
        {
            var slot = slots[i];
            if (slot == 0)
            {
                return 0;
            }

            if ((int)(slot >> 32) == hash && KeyOf(At((int)slot)).SequenceEqual(key))
            {
                return (int)slot;
            }
        }
    }

    /// <summary>Adds a record in flight for a key that <see cref="Find"/> did not find, and indexes it.</summary>
    private int AddRecord(string key, int hash, ReadOnlySpan<byte> fingerprint, string ownerToken)
    {
        var tail = (key.Length * sizeof(char)) + ((fingerprint.Length + 1) & ~1);
        var blockSize = tail + (ownerToken.Length * sizeof(char));
        var block = _heap.Allocate(blockSize);
        key.CopyTo(new Span<char>(block, key.Length));
        fingerprint.CopyTo(new Span<byte>(block + (key.Length * sizeof(char)), fingerprint.Length));
        ownerToken.CopyTo(new Span<char>(block + tail, ownerToken.Length));

        int number;
        try
        {
            GrowIndexIfNeeded();
            number = TakeRecordNumber();
        }
        catch
        {
            _heap.Free(block, blockSize);
            throw;
        }

        ref var record = ref At(number);
        record = default;
        record.Block = (nint)block;
        record.KeyLength = key.Length;
        record.FingerprintLength = fingerprint.Length;
        record.OwnerLength = ownerToken.Length;
        record.Hash = hash;
        Index(number, hash);
        _count++;
        return number;
    }

    /// <summary>Turns the block of a record in flight into a completed one's: the owner token's place takes the payload.</summary>
    private void StorePayload(ref Record record, ReadOnlySpan<byte> payload)
    {
        var tail = TailOffset(record);
        record.Block = (nint)_heap.Reallocate((byte*)record.Block, BlockSizeOf(record), tail + payload.Length);
        payload.CopyTo(new Span<byte>((byte*)record.Block + tail, payload.Length));
        record.OwnerLength = 0;
        record.PayloadLength = payload.Length;
    }

    /// <summary>Takes a record out of the index and frees its memory and its number. Its lists are the caller's.</summary>
    private void DeleteRecord(int number)
    {
        ref var record = ref At(number);
        Unindex(number, record.Hash);
        _heap.Free((byte*)record.Block, BlockSizeOf(record));
        record = default;
        record.SecondLinks.Next = _freeRecords;
        _freeRecords = number;
        _count--;
    }

    private int TakeRecordNumber()
    {
        if (_freeRecords != 0)
        {
            var number = _freeRecords;
            _freeRecords = At(number).SecondLinks.Next;
            return number;
        }

        if (_highWater >> ChunkShift == _chunks.Length || _chunks[_highWater >> ChunkShift] is null)
        {
            var chunk = _highWater >> ChunkShift;
            if (chunk == _chunks.Length)
            {
                Array.Resize(ref _chunks, Math.Max(4, _chunks.Length * 2));
            }

            _chunks[chunk] = GC.AllocateUninitializedArray<Record>(ChunkSize);
            if (chunk == 0)
            {
                _chunks[0][0] = default;
            }
        }

        return _highWater++;
    }

    /// <summary>Whether a claim should prepare the next index before taking the lock. Read without the lock.</summary>
    private bool WantsNextIndex
    {
        get
        {
            var slots = Volatile.Read(ref _slots);
            return slots.Length >= SlotsPreparedAheadFrom && slots.Length <= Array.MaxLength / 2 && _count >= slots.Length >> 1
                && Volatile.Read(ref _nextSlots)?.Length != slots.Length * 2;
        }
    }

    /// <summary>The slots of the index (a power of two).</summary>
    internal int IndexSlots => Volatile.Read(ref _slots).Length;

    /// <summary>Whether a next index, prepared off the lock, waits for the doubling.</summary>
    internal bool HoldsNextIndex => Volatile.Read(ref _nextSlots) is not null;

    /// <summary>
    /// Has a thread-pool thread allocate the next index and map its pages (a fraction of a second for tens of MiB on a
    /// virtual machine), so that no request waits for it, inside the lock or out. At most one at a time.
    /// </summary>
    private void QueueNextIndexPreparation()
    {
        if (Interlocked.CompareExchange(ref _preparingNextSlots, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(static store => store.PrepareNextIndex(), this, preferLocal: false);
        }
    }

    private void PrepareNextIndex()
    {
        try
        {
            var next = new long[Volatile.Read(ref _slots).Length * 2];
            for (var i = 0; i < next.Length; i += 4096 / sizeof(long))
            {
                Volatile.Write(ref next[i], 0); // one write per 4 KiB page: the kernel maps it now, not under the lock
            }

            Volatile.Write(ref _nextSlots, next);
        }
        catch (OutOfMemoryException)
        {
            // Nothing prepared: the doubling allocates under the lock, and the claim that needs it fails there.
        }
        finally
        {
            Volatile.Write(ref _preparingNextSlots, 0);
        }
    }

    private void GrowIndexIfNeeded()
    {
        if (_count + 1 <= (_slots.Length >> 1) + (_slots.Length >> 2))
        {
            return;
        }

        // Only the slots are read: each carries its hash, so no record is touched. A doubling, so its cost per record
        // added stays constant. The next index is the one a thread-pool thread prepared off the lock, if it has the size.
        var old = _slots;
        var slots = Interlocked.Exchange(ref _nextSlots, null);
        if (slots is null || slots.Length != old.Length * 2)
        {
            slots = new long[old.Length * 2];
        }

        var mask = slots.Length - 1;
        foreach (var slot in old)
        {
            if (slot != 0)
            {
                var i = (int)(slot >> 32) & mask;
                while (slots[i] != 0)
                {
                    i = (i + 1) & mask;
                }

                slots[i] = slot;
            }
        }

        Volatile.Write(ref _slots, slots);
    }

    private void Index(int number, int hash)
    {
        var slots = _slots;
        var mask = slots.Length - 1;
        var i = hash & mask;
        while (slots[i] != 0)
        {
            i = (i + 1) & mask;
        }

        slots[i] = ((long)hash << 32) | (uint)number;
    }

    // Linear probing without tombstones: the slots after the emptied one that would no longer be found move back.
    private void Unindex(int number, int hash)
    {
        var slots = _slots;
        var mask = slots.Length - 1;
        var i = hash & mask;
        while ((int)slots[i] != number)
        {
            i = (i + 1) & mask;
        }

        for (var j = (i + 1) & mask; slots[j] != 0; j = (j + 1) & mask)
        {
            var home = (int)(slots[j] >> 32) & mask;
            var stays = i <= j ? i < home && home <= j : i < home || home <= j;
            if (!stays)
            {
                slots[i] = slots[j];
                i = j;
            }
        }

        slots[i] = 0;
    }

    private void FreeBlocks()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        for (var number = 1; number < _highWater; number++)
        {
            ref var record = ref At(number);
            if (record.Block != 0)
            {
                _heap.Free((byte*)record.Block, BlockSizeOf(record));
                record.Block = 0;
            }
        }

        _heap.Dispose();
    }

    /// <summary>One record: a struct without object references, linked into its lists by record numbers.</summary>
    private struct Record
    {
        /// <summary>The native block: the key's characters, the fingerprint, then the owner token or the payload.</summary>
        public nint Block;
        public int KeyLength;
        public int FingerprintLength;
        public int OwnerLength;
        public int PayloadLength;
        public int Hash;
        public int Scope;

        /// <summary>The lease end while in flight, the retention end once completed (UTC ticks).</summary>
        public long ExpiresAt;
        public long CompletedAt;
        public long Size;

        /// <summary>The second of the expiry schedule the record is filed under.</summary>
        public long Second;
        public bool IsCompleted;

        // The lists the record is on: its scope's (in flight, or completed), the store's completed records in completion
        // order, and its second of the expiry schedule (and, once deleted, the free list).
        public IndexLinks ScopeLinks;
        public IndexLinks CompletedLinks;
        public IndexLinks SecondLinks;
    }

    private readonly struct ByScope : IIndexLinks
    {
        public static ref IndexLinks Of(InMemoryIdempotencyStore store, int node) => ref store.At(node).ScopeLinks;
    }

    private readonly struct ByCompletion : IIndexLinks
    {
        public static ref IndexLinks Of(InMemoryIdempotencyStore store, int node) => ref store.At(node).CompletedLinks;
    }

    private readonly struct BySecond : IIndexLinks
    {
        public static ref IndexLinks Of(InMemoryIdempotencyStore store, int node) => ref store.At(node).SecondLinks;
    }
}
