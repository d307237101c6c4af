namespace Idempotency.Stores.Conformance.ConditionalWrites;

/// <summary>Runs many writes at once, so the store, not the test, decides who wins.</summary>
internal static class Race
{
    /// <summary>
    /// Starts each write on a thread of its own and releases them together from a barrier, so a store that checks
    /// and writes in two steps gets writers between its steps. The thread pool would run a synchronous store's writes
    /// one after another on a small machine and hide that bug.
    /// </summary>
    public static async Task<(int Writer, ConditionalWriteResult Result)[]> RunAsync(int writers, Func<int, ValueTask<ConditionalWriteResult>> write)
    {
        using var gate = new Barrier(writers);
        var started = Enumerable.Range(0, writers).Select(writer => Task.Factory.StartNew(
            () =>
            {
                if (!gate.SignalAndWait(TimeSpan.FromMinutes(1)))
                {
                    throw new InvalidOperationException("The writers' threads did not all start.");
                }

                return write(writer).AsTask();
            },
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default)).ToArray();

        var inFlight = await Task.WhenAll(started);
        var results = await Task.WhenAll(inFlight);
        return results.Select((result, writer) => (writer, result)).ToArray();
    }
}
