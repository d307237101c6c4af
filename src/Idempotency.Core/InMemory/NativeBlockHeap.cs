using System.Runtime.InteropServices;

namespace Idempotency;

/// <summary>
/// The in-memory store's allocator for its records' native blocks: blocks of up to <see cref="MaxSlabBlockSize"/>
/// bytes come from slabs of <see cref="SlabSize"/> bytes, one size class per slab; larger ones from
/// <see cref="NativeMemory.Alloc(nuint)"/>. Not thread-safe: the store calls it under its lock, but for
/// <see cref="WantsSpareSlab"/>, <see cref="QueueSpareSlabPreparation"/> and <see cref="PrepareSpareSlab"/>.
/// </summary>
/// <remarks>
/// <para>
/// Why not <see cref="NativeMemory.Alloc(nuint)"/> for every block: a store that grows touches memory the process
/// has never used, and each fresh 4 KiB page costs a page fault. On a virtual machine a fault costs 10 to 16 µs (this
/// project's benchmark machine: <c>first-touch</c> in the benchmarks), a few microseconds per new key while the store
/// grows. A slab of a class that already filled one is advised to the kernel as transparent huge pages
/// (<c>madvise(MADV_HUGEPAGE)</c> on Linux), so it is mapped in one fault instead of 512; glibc's allocator does not
/// do that for the heaps of the thread-pool threads that run requests. A class's first slab is not advised, so a
/// small store touches only the 4 KiB pages it uses. Filling a huge page on its first fault takes the kernel most of a
/// millisecond here; so that no request waits for it, the store has the next such slab mapped and faulted on a
/// thread-pool thread (<see cref="QueueSpareSlabPreparation"/>).
/// </para>
/// <para>
/// Size classes: multiples of 16 bytes up to 256, then eight per doubling (at most 1/8 of a block is rounding).
/// Each slab starts with its header and keeps its own list of freed blocks; a freed block of a full slab puts the
/// slab back on its class's list of slabs with room, and a slab whose last block is freed is returned to the system,
/// unless it is the one its class allocates from. The store evicts and expires its records roughly in the order it
/// added them, so slabs empty out whole.
/// </para>
/// </remarks>
internal sealed unsafe class NativeBlockHeap : IDisposable
{
    /// <summary>The size and alignment of a slab: one transparent huge page on x64 and arm64.</summary>
    public const int SlabSize = 2 * 1024 * 1024;

    /// <summary>Blocks larger than this come from <see cref="NativeMemory.Alloc(nuint)"/>, one allocation each.</summary>
    public const int MaxSlabBlockSize = 16 * 1024;

    private const int HeaderSize = 64; // SlabHeader, padded to a cache line; blocks start 16-byte aligned after it

    // <sys/mman.h>, the same on every architecture .NET runs Linux on.
    private const int ProtectionReadWrite = 0x1 | 0x2; // PROT_READ | PROT_WRITE
    private const int MapPrivateAnonymous = 0x02 | 0x20; // MAP_PRIVATE | MAP_ANONYMOUS
    private const int MadviseHugePage = 14; // MADV_HUGEPAGE

    private static readonly int[] s_classSizes = CreateClassSizes();

    // On Linux the slabs are mapped and unmapped directly: memory fresh from the kernel (never touched, so a huge page
    // can back it on its first fault) and returned to it when a slab is freed. Elsewhere, aligned native allocations.
    private static readonly delegate* unmanaged<void*, nuint, int, int, int, nint, void*> s_mmap = (delegate* unmanaged<void*, nuint, int, int, int, nint, void*>)FindLibcFunction("mmap");
    private static readonly delegate* unmanaged<void*, nuint, int> s_munmap = (delegate* unmanaged<void*, nuint, int>)FindLibcFunction("munmap");
    private static readonly delegate* unmanaged<void*, nuint, int, int> s_madvise = (delegate* unmanaged<void*, nuint, int, int>)FindLibcFunction("madvise");

    private readonly SlabHeader*[] _current = new SlabHeader*[s_classSizes.Length]; // the slab each class allocates from
    private readonly SlabHeader*[] _withRoom = new SlabHeader*[s_classSizes.Length]; // other slabs with free blocks
    private readonly int[] _slabsPerClass = new int[s_classSizes.Length];
    private SlabHeader* _allSlabs; // every slab, to free them on disposal
    private nint _spare; // a slab mapped, advised and faulted outside the store's lock, for the next busy class that needs one
    private int _preparingSpare; // 1 while a thread-pool thread prepares the spare
    private volatile bool _busy; // a class has more than one slab: the next slab will be a huge page
    private volatile bool _disposed;

    /// <summary>The number of size classes.</summary>
    public static int ClassCount => s_classSizes.Length;

    /// <summary>The slabs the heap holds.</summary>
    public int SlabCount { get; private set; }

    /// <summary>The slabs advised as transparent huge pages (the advice was accepted by the kernel).</summary>
    public int HugePageSlabCount { get; private set; }

    /// <summary>
    /// Whether a slab should be prepared outside the store's lock: a busy class will need one, huge pages can back
    /// it, and none is ready. Safe to read without the store's lock (a stale answer costs one slab mapped twice, or
    /// one faulted under the lock).
    /// </summary>
    public bool WantsSpareSlab => _busy && s_mmap is not null && Volatile.Read(ref _spare) == 0 && !_disposed;

    /// <summary>Has a thread-pool thread <see cref="PrepareSpareSlab"/>, unless one is at it. Thread-safe.</summary>
    public void QueueSpareSlabPreparation()
    {
        if (Interlocked.CompareExchange(ref _preparingSpare, 1, 0) == 0)
        {
            ThreadPool.UnsafeQueueUserWorkItem(
                static heap =>
                {
                    try
                    {
                        heap.PrepareSpareSlab();
                    }
                    finally
                    {
                        Volatile.Write(ref heap._preparingSpare, 0);
                    }
                },
                this,
                preferLocal: false);
        }
    }

    /// <summary>
    /// Maps a slab, advises it as huge pages and writes to it, so the kernel fills its page now, on the caller's
    /// thread, outside the store's lock; the next busy class that needs a slab takes it. Thread-safe; never throws.
    /// </summary>
    public void PrepareSpareSlab()
    {
        // Never throws: without a spare, the claim maps its slab under the lock, and fails there if memory is short.
        var slab = MapSlab();
        if (slab is null)
        {
            return;
        }

        if (s_madvise is null || s_madvise(slab, SlabSize, MadviseHugePage) != 0)
        {
            UnmapSlab(slab);
            return;
        }

        *(SlabHeader*)slab = default; // the first write: the kernel maps the whole huge page
        if (Interlocked.CompareExchange(ref _spare, (nint)slab, 0) != 0)
        {
            UnmapSlab(slab); // another thread's is ready
        }
        else if (_disposed && Interlocked.Exchange(ref _spare, 0) is var orphan and not 0)
        {
            UnmapSlab((void*)orphan); // the store was disposed meanwhile
        }
    }

    /// <summary>The size of the blocks of a class.</summary>
    public static int ClassSize(int sizeClass) => s_classSizes[sizeClass];

    /// <summary>The smallest class whose blocks hold <paramref name="size"/> bytes (1 to <see cref="MaxSlabBlockSize"/>).</summary>
    public static int ClassOf(int size)
    {
        if (size <= 256)
        {
            return (size - 1) >> 4; // 16 → 0, 17..32 → 1, ..., 241..256 → 15
        }

        // (2^p, 2^(p+1)] is split into 8 steps of 2^(p-3).
        var p = 31 - int.LeadingZeroCount(size - 1);
        var step = p - 3;
        return 16 + ((p - 8) * 8) + ((size - 1 - (1 << p)) >> step);
    }

    /// <summary>A block of at least <paramref name="size"/> bytes (its contents undefined).</summary>
    /// <exception cref="OutOfMemoryException">The system refused the memory.</exception>
    public byte* Allocate(int size)
    {
        if (size > MaxSlabBlockSize)
        {
            return (byte*)NativeMemory.Alloc((nuint)size);
        }

        var sizeClass = ClassOf(size);
        var slab = _current[sizeClass];
        if (slab is null || (slab->FreeList is null && slab->Bump + slab->BlockSize > SlabSize))
        {
            slab = TakeSlabWithRoom(sizeClass);
            _current[sizeClass] = slab;
        }

        slab->Live++;
        var block = slab->FreeList;
        if (block is not null)
        {
            slab->FreeList = *(byte**)block;
            return block;
        }

        block = (byte*)slab + slab->Bump;
        slab->Bump += slab->BlockSize;
        return block;
    }

    /// <summary>
    /// A block of at least <paramref name="newSize"/> bytes holding the first bytes of <paramref name="block"/> (of
    /// <paramref name="oldSize"/> bytes, as allocated): the same block when the size class does not change. On
    /// failure the old block is left as it was.
    /// </summary>
    public byte* Reallocate(byte* block, int oldSize, int newSize)
    {
        if (oldSize > MaxSlabBlockSize && newSize > MaxSlabBlockSize)
        {
            return (byte*)NativeMemory.Realloc(block, (nuint)newSize);
        }

        if (oldSize <= MaxSlabBlockSize && newSize <= MaxSlabBlockSize && ClassOf(oldSize) == ClassOf(newSize))
        {
            return block;
        }

        var moved = Allocate(newSize);
        Buffer.MemoryCopy(block, moved, newSize, Math.Min(oldSize, newSize));
        Free(block, oldSize);
        return moved;
    }

    /// <summary>Frees a block of <paramref name="size"/> bytes (the size it was allocated or reallocated with).</summary>
    public void Free(byte* block, int size)
    {
        if (size > MaxSlabBlockSize)
        {
            NativeMemory.Free(block);
            return;
        }

        var slab = (SlabHeader*)((nint)block & ~(nint)(SlabSize - 1));
        *(byte**)block = slab->FreeList;
        slab->FreeList = block;
        slab->Live--;
        var sizeClass = slab->SizeClass;
        if (slab == _current[sizeClass])
        {
            if (slab->Live == 0)
            {
                // Empty: allocate from its start again, in the pages already touched.
                slab->FreeList = null;
                slab->Bump = HeaderSize;
            }

            return;
        }

        if (slab->Live == 0)
        {
            if (slab->HasRoom)
            {
                Unlink(ref _withRoom[sizeClass], slab);
            }

            Release(slab);
        }
        else if (!slab->HasRoom)
        {
            slab->HasRoom = true;
            slab->PreviousWithRoom = null;
            slab->NextWithRoom = _withRoom[sizeClass];
            if (slab->NextWithRoom is not null)
            {
                slab->NextWithRoom->PreviousWithRoom = slab;
            }

            _withRoom[sizeClass] = slab;
        }
    }

    /// <summary>Returns every slab to the system; blocks larger than <see cref="MaxSlabBlockSize"/> are the caller's to free.</summary>
    public void Dispose()
    {
        _disposed = true;
        if (Interlocked.Exchange(ref _spare, 0) is var spare and not 0)
        {
            UnmapSlab((void*)spare);
        }

        while (_allSlabs is not null)
        {
            var slab = _allSlabs;
            _allSlabs = slab->NextOfAll;
            FreeSlabMemory(slab);
        }

        SlabCount = 0;
        HugePageSlabCount = 0;
        Array.Clear(_current);
        Array.Clear(_withRoom);
        Array.Clear(_slabsPerClass);
    }

    private SlabHeader* TakeSlabWithRoom(int sizeClass)
    {
        var slab = _withRoom[sizeClass];
        if (slab is not null)
        {
            Unlink(ref _withRoom[sizeClass], slab);
            return slab;
        }

        // A class's first slab keeps 4 KiB pages: a small store touches only what it uses. From its second on, the
        // class is busy enough for a huge page to be filled, and one fault maps the whole slab: the spare prepared
        // outside the lock if there is one. The advice must come before the first write: a slab with one 4 KiB page
        // mapped is never given a huge page on a fault.
        var busy = _slabsPerClass[sizeClass] > 0;
        bool hugePages, mapped = true;
        if (busy && Interlocked.Exchange(ref _spare, 0) is var spare and not 0)
        {
            slab = (SlabHeader*)spare;
            hugePages = true;
        }
        else
        {
            slab = (SlabHeader*)MapSlab();
            if (slab is null)
            {
                // No mmap here, or it refused (an unexpected flag value on an unusual architecture would make it):
                // the C library's aligned allocation, which throws OutOfMemoryException when memory is short.
                slab = (SlabHeader*)NativeMemory.AlignedAlloc(SlabSize, SlabSize);
                mapped = false;
            }

            hugePages = busy && s_madvise is not null && s_madvise(slab, SlabSize, MadviseHugePage) == 0;
        }

        _slabsPerClass[sizeClass]++;
        _busy |= hugePages;
        *slab = default;
        slab->SizeClass = sizeClass;
        slab->BlockSize = s_classSizes[sizeClass];
        slab->Bump = HeaderSize;
        slab->HugePages = hugePages;
        slab->Mapped = mapped;
        slab->NextOfAll = _allSlabs;
        if (_allSlabs is not null)
        {
            _allSlabs->PreviousOfAll = slab;
        }

        _allSlabs = slab;
        SlabCount++;
        if (hugePages)
        {
            HugePageSlabCount++;
        }

        return slab;
    }

    private void Release(SlabHeader* slab)
    {
        if (slab->PreviousOfAll is not null)
        {
            slab->PreviousOfAll->NextOfAll = slab->NextOfAll;
        }
        else
        {
            _allSlabs = slab->NextOfAll;
        }

        if (slab->NextOfAll is not null)
        {
            slab->NextOfAll->PreviousOfAll = slab->PreviousOfAll;
        }

        _slabsPerClass[slab->SizeClass]--;
        SlabCount--;
        if (slab->HugePages)
        {
            HugePageSlabCount--;
        }

        FreeSlabMemory(slab);
    }

    // Fresh memory from the kernel, aligned to its size, or null where mmap is missing or refuses.
    private static void* MapSlab()
    {
        if (s_mmap is null || s_munmap is null)
        {
            return null;
        }

        // Twice the size, then the parts before and after the aligned slab go back.
        var mapped = (nint)s_mmap(null, 2 * SlabSize, ProtectionReadWrite, MapPrivateAnonymous, -1, 0);
        if (mapped == -1) // MAP_FAILED
        {
            return null;
        }

        var slab = (mapped + SlabSize - 1) & ~(nint)(SlabSize - 1);
        if (slab != mapped)
        {
            s_munmap((void*)mapped, (nuint)(slab - mapped));
        }

        var end = mapped + (2 * SlabSize);
        if (slab + SlabSize != end)
        {
            s_munmap((void*)(slab + SlabSize), (nuint)(end - (slab + SlabSize)));
        }

        return (void*)slab;
    }

    private static void UnmapSlab(void* slab) => s_munmap(slab, SlabSize);

    private static void FreeSlabMemory(SlabHeader* slab)
    {
        if (slab->Mapped)
        {
            UnmapSlab(slab);
        }
        else
        {
            NativeMemory.AlignedFree(slab);
        }
    }

    private static void Unlink(ref SlabHeader* head, SlabHeader* slab)
    {
        if (slab->PreviousWithRoom is not null)
        {
            slab->PreviousWithRoom->NextWithRoom = slab->NextWithRoom;
        }
        else
        {
            head = slab->NextWithRoom;
        }

        if (slab->NextWithRoom is not null)
        {
            slab->NextWithRoom->PreviousWithRoom = slab->PreviousWithRoom;
        }

        slab->PreviousWithRoom = null;
        slab->NextWithRoom = null;
        slab->HasRoom = false;
    }

    private static int[] CreateClassSizes()
    {
        var sizes = new List<int>();
        for (var size = 16; size <= 256; size += 16)
        {
            sizes.Add(size);
        }

        for (var power = 256; power < MaxSlabBlockSize; power *= 2)
        {
            for (var step = 1; step <= 8; step++)
            {
                sizes.Add(power + (step * (power / 8)));
            }
        }

        return [.. sizes];
    }

    // The C library is loaded in every .NET process on Linux: its functions are found among the main program's symbols
    // (glibc and musl alike).
    private static void* FindLibcFunction(string name) =>
        OperatingSystem.IsLinux() && NativeLibrary.TryGetExport(NativeLibrary.GetMainProgramHandle(), name, out var address)
            ? (void*)address
            : null;

    /// <summary>The start of every slab (<see cref="HeaderSize"/> bytes at most).</summary>
    private struct SlabHeader
    {
        public byte* FreeList; // freed blocks, each holding the address of the next
        public SlabHeader* PreviousWithRoom;
        public SlabHeader* NextWithRoom;
        public SlabHeader* PreviousOfAll;
        public SlabHeader* NextOfAll;
        public int SizeClass;
        public int BlockSize;
        public int Bump; // the offset of the first block never handed out
        public int Live;
        public bool HasRoom; // on its class's list of slabs with room
        public bool HugePages;
        public bool Mapped; // by mmap (unmapped when freed), else by NativeMemory.AlignedAlloc
    }
}
