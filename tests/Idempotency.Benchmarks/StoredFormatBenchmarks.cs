using System.Text;
using BenchmarkDotNet.Attributes;
using Idempotency.AspNetCore.Deduplication;

namespace Idempotency.Benchmarks;

/// <summary>The middleware's outcome codec: an HTTP response into the record's content and back.</summary>
[MemoryDiagnoser]
public class StoredFormatBenchmarks
{
    private StoredResponse _response = null!;
    private byte[] _content = null!;

    [GlobalSetup]
    public void Setup()
    {
        _response = new StoredResponse(
            201,
            [new("Content-Type", "application/json; charset=utf-8"), new("Location", "/accounts/42")],
            Encoding.UTF8.GetBytes("{\"account\":42,\"entry\":564,\"amount\":10000,\"balance\":250000}"));
        _content = Encode();
    }

    [Benchmark]
    public byte[] Encode()
    {
        var content = StoredResponseFormat.Content(_response);
        var buffer = new byte[content.Length];
        content.WriteTo(buffer);
        return buffer;
    }

    [Benchmark]
    public int Decode() => StoredResponseFormat.Decode(_content).Headers.Count;
}
