using System.Diagnostics;
using System.Globalization;

namespace Idempotency.Benchmarks;

/// <summary>
/// <see cref="InMemoryStoreSizeBenchmarks"/> measured by the process's CPU time instead of the wall clock: on a machine
/// whose cores are shared with other work, a wall-clock nanosecond per operation measures the other work as much as
/// ours, while the CPU time this process spends (its threads and the garbage collector's) measures ours. Run with
/// <c>store-size [operations per measurement] [comma-separated sizes]</c>; prints one line per size and operation, with
/// the process's working set after it.
/// </summary>
internal static class InMemoryStoreSizeProbe
{
    public static void Run(string[] args)
    {
        var operations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 1_000_000;
        var sizes = args.Length > 1 ? args[1].Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray() : [0, 1_000_000, 5_000_000];
        WriteHeader();
        foreach (var records in sizes)
        {
            var benchmarks = new InMemoryStoreSizeBenchmarks { Records = records };
            benchmarks.Setup();
            Measure(records, "replay (hot key)", operations, () => benchmarks.Replay());
            Measure(records, "look-up of a held key", operations, () => benchmarks.LookUpRandomHeldKey());
            Measure(records, "new key", operations, () => benchmarks.NewKey());
            Measure(records, "forced gen2 collection", 5, benchmarks.ForcedGen2Collection);
        }
    }

    private static void Measure<T>(int records, string name, int operations, Func<T> operation) =>
        Measure(records, name, operations, () => { _ = operation(); });

    /// <summary>The header of <see cref="Measure(int, string, int, Action, Action?, Func{string}?)"/>'s lines, and of extra columns after them.</summary>
    internal static void WriteHeader(string extraColumns = "") =>
        Console.WriteLine($"{"records",9} {"operation",-22} {"CPU ns/op",10} {"wall ns/op",10} {"alloc B/op",10} {"gen0",6} {"gen1",6} {"gen2",6} {"GC pause us/op",14} {"RSS MiB",8}{extraColumns}");

    /// <summary>
    /// Runs <paramref name="operation"/> to warm up, then <paramref name="operations"/> times, and prints one line: the
    /// process's CPU and wall time, allocations, collections and collector pause per operation, and its working set.
    /// </summary>
    internal static void Measure(int records, string name, int operations, Action operation, Action? afterWarmUp = null, Func<string>? extraColumns = null)
    {
        for (var i = 0; i < Math.Min(operations, 200_000); i++)
        {
            operation(); // warm: tier-up, caches
        }

        afterWarmUp?.Invoke();
        var process = Process.GetCurrentProcess();
        var gen0 = GC.CollectionCount(0);
        var gen1 = GC.CollectionCount(1);
        var gen2 = GC.CollectionCount(2);
        var pause = GC.GetTotalPauseDuration();
        var allocated = GC.GetTotalAllocatedBytes(precise: false);
        process.Refresh();
        var cpu = process.TotalProcessorTime;
        var wall = Stopwatch.StartNew();
        for (var i = 0; i < operations; i++)
        {
            operation();
        }

        wall.Stop();
        process.Refresh();
        var cpuNs = (process.TotalProcessorTime - cpu).TotalNanoseconds / operations;
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{records,9} {name,-22} {cpuNs,10:0} {wall.Elapsed.TotalNanoseconds / operations,10:0} {(GC.GetTotalAllocatedBytes(precise: false) - allocated) / operations,10} {GC.CollectionCount(0) - gen0,6} {GC.CollectionCount(1) - gen1,6} {GC.CollectionCount(2) - gen2,6} {(GC.GetTotalPauseDuration() - pause).TotalMicroseconds / operations,14:0.000} {process.WorkingSet64 / (1024 * 1024),8}{extraColumns?.Invoke()}"));
    }
}
