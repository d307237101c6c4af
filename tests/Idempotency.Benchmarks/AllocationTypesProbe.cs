using System.Collections.Concurrent;
using System.Diagnostics.Tracing;
using System.Globalization;

namespace Idempotency.Benchmarks;

/// <summary>
/// Which types a <see cref="MiddlewareDirectBenchmarks"/> method allocates, by the runtime's allocation sampling (one
/// <c>GCAllocationTick</c> event per ~100 KB allocated, naming the type of the object that crossed the mark, so each
/// type's share of the events is its share of the bytes). Run with <c>allocation-types [method] [operations]</c>
/// (method: handler-alone, pass-through, replay or new-key); prints the types that account for 1 % or more.
/// </summary>
internal static class AllocationTypesProbe
{
    public static async Task RunAsync(string[] args)
    {
        var method = args.Length > 0 ? args[0] : "new-key";
        var operations = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 300_000;
        var benchmarks = new MiddlewareDirectBenchmarks();
        benchmarks.Setup();
        Func<Task> operation = method switch
        {
            "handler-alone" => benchmarks.HandlerAlone,
            "pass-through" => benchmarks.PassThrough,
            "replay" => benchmarks.Replay,
            "new-key" => benchmarks.NewKey,
            _ => throw new ArgumentException($"Unknown method '{method}': use handler-alone, pass-through, replay or new-key."),
        };

        for (var i = 0; i < operations; i++)
        {
            await operation(); // warm: tier-up, so the sampled allocations are the steady state's
        }

        using var listener = new AllocationTickListener();
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        for (var i = 0; i < operations; i++)
        {
            await operation();
        }

        var bytesPerOperation = (double)(GC.GetTotalAllocatedBytes(precise: true) - allocated) / operations;
        listener.Dispose();
        var total = listener.Samples.Values.Sum();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{method}: {bytesPerOperation:0} bytes per operation, {total} samples"));
        foreach (var (type, count) in listener.Samples.OrderByDescending(pair => pair.Value))
        {
            var share = (double)count / total;
            if (share < 0.01)
            {
                break;
            }

            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {share,6:P1}  ~{share * bytesPerOperation,6:0} B  {type}"));
        }
    }

    private sealed class AllocationTickListener : EventListener
    {
        private const EventKeywords GcKeyword = (EventKeywords)0x1;

        public ConcurrentDictionary<string, long> Samples { get; } = new();

        protected override void OnEventSourceCreated(EventSource eventSource)
        {
            if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
            {
                EnableEvents(eventSource, EventLevel.Verbose, GcKeyword);
            }
        }

        protected override void OnEventWritten(EventWrittenEventArgs eventData)
        {
            if (eventData.EventName is { } name && name.StartsWith("GCAllocationTick", StringComparison.Ordinal)
                && eventData.PayloadNames is { } names)
            {
                var index = names.IndexOf("TypeName");
                var type = index >= 0 ? eventData.Payload![index] as string ?? "?" : "?";
                Samples.AddOrUpdate(type, 1, static (_, count) => count + 1);
            }
        }
    }
}
