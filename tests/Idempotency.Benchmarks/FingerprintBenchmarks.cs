using BenchmarkDotNet.Attributes;

namespace Idempotency.Benchmarks;

[MemoryDiagnoser]
public class FingerprintBenchmarks
{
    private readonly byte[] _small = new byte[64];
    private readonly byte[] _large = new byte[1024 * 1024];

    [GlobalSetup]
    public void Setup()
    {
        new Random(1).NextBytes(_small);
        new Random(2).NextBytes(_large);
    }

    [Benchmark(Baseline = true)]
    public byte[] SmallBody() => Fingerprint(_small);

    [Benchmark]
    public byte[] OneMebibyteBody() => Fingerprint(_large);

    private static byte[] Fingerprint(byte[] body)
    {
        using var builder = new RequestFingerprintBuilder();
        builder.AppendField("POST");
        builder.AppendField("/accounts/{id:long}/deposits");
        builder.AppendField("/accounts/42/deposits");
        builder.AppendField(string.Empty);
        for (var offset = 0; offset < body.Length; offset += 16 * 1024)
        {
            builder.AppendBody(body.AsSpan(offset, Math.Min(16 * 1024, body.Length - offset)));
        }

        return builder.Finish();
    }
}
