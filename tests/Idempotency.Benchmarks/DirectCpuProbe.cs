using System.Diagnostics;
using System.Globalization;

namespace Idempotency.Benchmarks;

/// <summary>
/// <see cref="MiddlewareDirectBenchmarks"/> measured by the process's CPU time (its threads and the garbage collector's)
/// and its exact allocations per request, one method after another in one process. scripts/benchmark-direct-ab.sh runs
/// it in two builds side by side; it uses only the benchmark class's public methods, so the script can copy this file
/// into an older build. Run with <c>direct-cpu [operations per method] [method]</c>; prints one line per method (only the named one if given,
/// to profile it alone).
/// </summary>
internal static class DirectCpuProbe
{
    public static async Task RunAsync(string[] args)
    {
        var operations = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 300_000;
        var benchmarks = new MiddlewareDirectBenchmarks();
        benchmarks.Setup();
        var only = args.Length > 1 ? args[1] : null; // one method by name, to profile it alone
        var methods = new (string Name, Func<Task> Operation)[]
        {
            ("handler-alone", benchmarks.HandlerAlone),
            ("pass-through", benchmarks.PassThrough),
            ("replay", benchmarks.Replay),
            ("new-key", benchmarks.NewKey),
        };
        foreach (var (name, operation) in methods)
        {
            if (only is null || only == name)
            {
                await MeasureAsync(name, operations, operation);
            }
        }
    }

    private static async Task MeasureAsync(string name, int operations, Func<Task> operation)
    {
        for (var i = 0; i < operations; i++)
        {
            await operation(); // warm: tier-up, caches
        }

        var process = Process.GetCurrentProcess();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        process.Refresh();
        var cpu = process.TotalProcessorTime;
        for (var i = 0; i < operations; i++)
        {
            await operation();
        }

        process.Refresh();
        var cpuNs = (process.TotalProcessorTime - cpu).TotalNanoseconds / operations;
        var bytes = (GC.GetTotalAllocatedBytes(precise: true) - allocated) / operations;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name} {cpuNs:0} {bytes}"));
    }
}
