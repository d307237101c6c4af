using System.Text;
using BenchmarkDotNet.Attributes;

namespace Idempotency.Benchmarks;

[MemoryDiagnoser]
public class StoredFormatBenchmarks
{
    private StoredResponse _response = null!;
    private byte[] _payload = null!;

    [GlobalSetup]
    public void Setup()
    {
        _response = new StoredResponse(
            201,
            [new("Content-Type", ["application/json; charset=utf-8"]), new("Location", ["/accounts/42"])],
            Encoding.UTF8.GetBytes("{\"account\":42,\"entry\":564,\"amount\":10000,\"balance\":250000}"));
        _payload = StoredPayloadFormat.EncodeResponse(_response);
    }

    [Benchmark]
    public byte[] Encode() => StoredPayloadFormat.EncodeResponse(_response);

    [Benchmark]
    public StoredResponse Decode() => StoredPayloadFormat.DecodeResponse(_payload);
}
