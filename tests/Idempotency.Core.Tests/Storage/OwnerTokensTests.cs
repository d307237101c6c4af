using System.Globalization;

namespace Idempotency.Core.Tests.Storage;

public sealed class OwnerTokensTests
{
    [Fact]
    public void Tokens_ShareTheProcessPrefix_AndEndInAnIncreasingHexCounterWithoutLeadingZeros()
    {
        // Other tests create tokens at the same time, so the counters increase but need not be consecutive.
        var tokens = Enumerable.Range(0, 5_000).Select(_ => OwnerTokens.Create()).ToArray();

        var prefix = tokens[0][..17];
        Assert.Matches("^[0-9a-f]{16}-$", prefix);
        var previous = -1L;
        foreach (var token in tokens)
        {
            Assert.StartsWith(prefix, token, StringComparison.Ordinal);
            var counter = token[17..];
            Assert.Matches("^[1-9a-f][0-9a-f]*$", counter);
            var value = long.Parse(counter, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            Assert.True(value > previous, $"{token} does not follow the counter {previous:x}.");
            previous = value;
        }
    }

    [Fact]
    public void Tokens_CreatedOnManyThreadsAtOnce_AreAllDifferent_AndIncreaseOnEachThread()
    {
        // Each thread takes its counters from blocks it reserves; enough tokens per thread to cross several blocks.
        const int threads = 8;
        var perThread = (OwnerTokens.CountersPerBlock * 3) + 17;
        using var start = new Barrier(threads);
        var created = new string[threads][];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            var tokens = new string[perThread];
            start.SignalAndWait();
            for (var i = 0; i < perThread; i++)
            {
                tokens[i] = OwnerTokens.Create();
            }

            created[t] = tokens;
        })).ToArray();
        foreach (var worker in workers)
        {
            worker.Start();
        }

        foreach (var worker in workers)
        {
            worker.Join();
        }

        Assert.Equal(threads * perThread, created.SelectMany(tokens => tokens).Distinct(StringComparer.Ordinal).Count());
        foreach (var tokens in created)
        {
            var counters = tokens.Select(token => long.Parse(token[17..], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture)).ToArray();
            Assert.True(counters.Zip(counters.Skip(1)).All(pair => pair.Second > pair.First), "A thread's tokens do not increase.");
        }
    }
}
