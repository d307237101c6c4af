using BenchmarkDotNet.Attributes;

namespace Idempotency.Benchmarks;

[MemoryDiagnoser]
public class KeyParsingBenchmarks
{
    private const string Quoted = "\"8e03978e-40d5-43e8-bc93-6894a57f9324\"";
    private const string Bare = "8e03978e-40d5-43e8-bc93-6894a57f9324";
    private const string Malformed = "\"8e03978e-40d5-43e8-bc93";

    [Benchmark(Baseline = true)]
    public string? QuotedKey() => Parse(Quoted);

    [Benchmark]
    public string? BareKey() => Parse(Bare);

    [Benchmark]
    public string? MalformedKey() => Parse(Malformed);

    private static string? Parse(string value)
    {
        IdempotencyKeyParser.TryParse(value, strict: false, maxLength: 255, out var key);
        return key;
    }
}
