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
}
