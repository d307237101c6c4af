using System.Globalization;

namespace Idempotency.Core.Tests.InMemory;

/// <summary>
/// The in-memory store's allocator: no live block ever shares a byte with another, every block keeps its bytes through
/// any sequence of allocations, moves and frees, empty slabs go back to the system, and busy classes get huge pages.
/// </summary>
public sealed unsafe class NativeBlockHeapTests
{
    [Fact]
    public void EverySize_GetsTheSmallestClassThatHoldsIt_RoundedByAtMostAnEighth()
    {
        for (var size = 1; size <= NativeBlockHeap.MaxSlabBlockSize; size++)
        {
            var sizeClass = NativeBlockHeap.ClassOf(size);
            var classSize = NativeBlockHeap.ClassSize(sizeClass);
            Assert.True(classSize >= size, $"size {size}: class {sizeClass} holds {classSize} bytes");
            Assert.True(sizeClass == 0 || NativeBlockHeap.ClassSize(sizeClass - 1) < size, $"size {size}: class {sizeClass - 1} would do");
            Assert.True(size <= 256 ? classSize - size < 16 : (classSize - size) * 8 < size, $"size {size}: rounded to {classSize}");
            Assert.Equal(0, classSize % 16); // every block 16-byte aligned in its slab
        }

        Assert.Equal(NativeBlockHeap.MaxSlabBlockSize, NativeBlockHeap.ClassSize(NativeBlockHeap.ClassCount - 1));
    }

    [Fact]
    public void ASlabsHeader_FitsBeforeItsFirstBlock()
    {
        // Blocks start 64 bytes into their slab: a header that grew past that would share bytes with the first block.
        var header = typeof(NativeBlockHeap).GetNestedType("SlabHeader", System.Reflection.BindingFlags.NonPublic)!;
        Assert.InRange(System.Runtime.CompilerServices.RuntimeHelpers.SizeOf(header.TypeHandle), 1, 64);
    }

    [Fact]
    public void RandomAllocationsMovesAndFrees_NeverOverlap_AndKeepEveryBlocksBytes()
    {
        // A model of what each live block must hold, checked after every thousand operations: a block handed out
        // twice, a slab list gone wrong or a move that copied too little would show as another block's bytes.
        using var heap = new NativeBlockHeap();
        var random = new Random(16);
        var live = new List<(nint Block, int Size, byte Fill)>();
        for (var step = 0; step < 60_000; step++)
        {
            var choice = random.Next(10);
            if (choice < 5 || live.Count == 0)
            {
                var size = RandomSize(random);
                var fill = (byte)random.Next(256);
                var block = heap.Allocate(size);
                new Span<byte>(block, size).Fill(fill);
                live.Add(((nint)block, size, fill));
            }
            else if (choice < 8)
            {
                var i = random.Next(live.Count);
                heap.Free((byte*)live[i].Block, live[i].Size);
                live[i] = live[^1];
                live.RemoveAt(live.Count - 1);
            }
            else
            {
                var i = random.Next(live.Count);
                var (block, size, fill) = live[i];
                var newSize = RandomSize(random);
                var moved = heap.Reallocate((byte*)block, size, newSize);
                Assert.True(new Span<byte>(moved, Math.Min(size, newSize)).IndexOfAnyExcept(fill) < 0, "a move lost the block's bytes");
                new Span<byte>(moved, newSize).Fill(fill);
                live[i] = ((nint)moved, newSize, fill);
            }

            if (step % 1_000 == 999)
            {
                AssertDisjointAndIntact(live);
            }
        }

        AssertDisjointAndIntact(live);
        foreach (var (block, size, _) in live)
        {
            heap.Free((byte*)block, size);
        }

        Assert.True(heap.SlabCount <= NativeBlockHeap.ClassCount, $"{heap.SlabCount} slabs held with nothing allocated");
    }

    [Fact]
    public void EmptiedSlabs_GoBackToTheSystem_ButTheOneEachClassAllocatesFrom()
    {
        using var heap = new NativeBlockHeap();
        const int Size = 1_000;
        var perSlab = NativeBlockHeap.SlabSize / NativeBlockHeap.ClassSize(NativeBlockHeap.ClassOf(Size));
        var blocks = Enumerable.Range(0, (perSlab * 4) + 1).Select(_ => (nint)heap.Allocate(Size)).ToList();
        Assert.Equal(5, heap.SlabCount);

        foreach (var block in blocks)
        {
            heap.Free((byte*)block, Size);
        }

        Assert.Equal(1, heap.SlabCount);
        var again = heap.Allocate(Size);
        Assert.Equal(1, heap.SlabCount); // the kept slab serves the next block
        heap.Free(again, Size);

        heap.Dispose();
        Assert.Equal(0, heap.SlabCount);
    }

    [Fact]
    public void BlocksLargerThanASlabsLargestClass_ComeFromTheSystemAllocator_AndMoveInAndOutOfSlabs()
    {
        using var heap = new NativeBlockHeap();
        var large = heap.Allocate(NativeBlockHeap.MaxSlabBlockSize + 1);
        Assert.Equal(0, heap.SlabCount);
        new Span<byte>(large, NativeBlockHeap.MaxSlabBlockSize + 1).Fill(5);

        var small = heap.Reallocate(large, NativeBlockHeap.MaxSlabBlockSize + 1, 100);
        Assert.Equal(1, heap.SlabCount);
        Assert.True(new Span<byte>(small, 100).IndexOfAnyExcept((byte)5) < 0);

        var largeAgain = heap.Reallocate(small, 100, 100_000);
        Assert.True(new Span<byte>(largeAgain, 100).IndexOfAnyExcept((byte)5) < 0);
        heap.Free(largeAgain, 100_000);
    }

    [Fact]
    public void ABusyClass_GetsHugePages_AndAClasssFirstSlabDoesNot()
    {
        // A store that grows touches fresh memory for every record; on a virtual machine each fresh 4 KiB page costs a
        // fault of 10 to 16 µs. A busy class's slabs are advised as transparent huge pages, before anything is written
        // to them (a slab with one small page mapped never gets a huge page), so one fault maps a whole slab.
        // Elsewhere (another system, a kernel built without them) the advice is not given or refused, and the slabs
        // keep small pages.
        var hugePagesAvailable = OperatingSystem.IsLinux() && File.Exists("/sys/kernel/mm/transparent_hugepage/enabled");
        using var heap = new NativeBlockHeap();
        const int Size = 400;
        var perSlab = NativeBlockHeap.SlabSize / NativeBlockHeap.ClassSize(NativeBlockHeap.ClassOf(Size));
        var first = heap.Allocate(Size);
        for (var i = 1; i < perSlab; i++)
        {
            heap.Allocate(Size);
        }

        var second = heap.Allocate(Size);
        Assert.Equal(2, heap.SlabCount);
        Assert.Equal(hugePagesAvailable ? 1 : 0, heap.HugePageSlabCount);
        if (!hugePagesAvailable)
        {
            return;
        }

        var flags = VmFlagsOfMappings();
        Assert.DoesNotContain("hg", FlagsAt(flags, (nint)first));
        Assert.Contains("hg", FlagsAt(flags, (nint)second)); // the kernel took the advice
    }

    [Fact]
    public void ABusyClass_TakesTheSlabPreparedOutsideTheLock_AndAsksForTheNextOne()
    {
        // Filling a huge page takes the kernel most of a millisecond: a thread-pool thread prepares the next busy slab,
        // off the store's lock, and the heap asks again once that one is taken.
        var hugePagesAvailable = OperatingSystem.IsLinux() && File.Exists("/sys/kernel/mm/transparent_hugepage/enabled");
        using var heap = new NativeBlockHeap();
        const int Size = 400;
        var perSlab = NativeBlockHeap.SlabSize / NativeBlockHeap.ClassSize(NativeBlockHeap.ClassOf(Size));
        Assert.False(heap.WantsSpareSlab); // a small store maps nothing ahead
        for (var i = 0; i <= perSlab; i++)
        {
            heap.Allocate(Size);
        }

        Assert.Equal(hugePagesAvailable, heap.WantsSpareSlab);
        if (!hugePagesAvailable)
        {
            return;
        }

        heap.QueueSpareSlabPreparation(); // as the store does: a thread-pool thread prepares it
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (heap.WantsSpareSlab && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            Thread.Sleep(10);
        }

        Assert.False(heap.WantsSpareSlab, "no spare slab was prepared");
        heap.PrepareSpareSlab(); // a second one: freed, the first stays
        Assert.Equal(2, heap.SlabCount);

        for (var i = 1; i < perSlab; i++)
        {
            heap.Allocate(Size); // fills the second slab
        }

        Assert.Equal(2, heap.SlabCount);
        Assert.False(heap.WantsSpareSlab);
        var block = heap.Allocate(Size); // the third slab: the spare
        Assert.Equal(3, heap.SlabCount);
        Assert.Equal(2, heap.HugePageSlabCount);
        Assert.True(heap.WantsSpareSlab); // taken: the next one is asked for
        new Span<byte>(block, Size).Fill(1); // mapped and writable
    }

    private static int RandomSize(Random random) => random.Next(20) switch
    {
        0 => random.Next(NativeBlockHeap.MaxSlabBlockSize + 1, NativeBlockHeap.MaxSlabBlockSize * 3),
        < 4 => random.Next(257, NativeBlockHeap.MaxSlabBlockSize + 1),
        _ => random.Next(8, 257),
    };

    private static void AssertDisjointAndIntact(List<(nint Block, int Size, byte Fill)> live)
    {
        var sorted = live.OrderBy(b => b.Block).ToList();
        for (var i = 0; i < sorted.Count; i++)
        {
            var (block, size, fill) = sorted[i];
            Assert.True(new Span<byte>((void*)block, size).IndexOfAnyExcept(fill) < 0, $"block {i} of {sorted.Count} lost its bytes");
            Assert.True(i == 0 || sorted[i - 1].Block + sorted[i - 1].Size <= block, "two live blocks overlap");
        }
    }

    // The VmFlags of each mapping of this process, from /proc/self/smaps.
    private static List<(nint Start, nint End, string[] Flags)> VmFlagsOfMappings()
    {
        var mappings = new List<(nint, nint, string[])>();
        (nint Start, nint End)? current = null;
        foreach (var line in File.ReadLines("/proc/self/smaps"))
        {
            var dash = line.IndexOf('-', StringComparison.Ordinal);
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (dash > 0 && space > dash && nint.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var start)
                && nint.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var end))
            {
                current = (start, end);
            }
            else if (line.StartsWith("VmFlags:", StringComparison.Ordinal) && current is { } range)
            {
                mappings.Add((range.Start, range.End, line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries)));
            }
        }

        return mappings;
    }

    private static string[] FlagsAt(List<(nint Start, nint End, string[] Flags)> mappings, nint address) =>
        mappings.Single(m => m.Start <= address && address < m.End).Flags;
}
