using System.Text;

namespace Idempotency.Core.Tests.Responses;

public sealed class StoredPayloadFormatTests
{
    [Fact]
    public void EncodeResponse_RoundTrips_StatusHeadersAndExactBody()
    {
        var body = new byte[300];
        for (var i = 0; i < body.Length; i++)
        {
            body[i] = (byte)i;
        }

        var original = new StoredResponse(
            201,
            [new("Location", ["/accounts/1"]), new("Vary", ["Accept", "Accept-Encoding"]), new("X-Ünicode", ["é"])],
            body);

        var decoded = StoredPayloadFormat.DecodeResponse(StoredPayloadFormat.EncodeResponse(original));

        Assert.Equal(201, decoded.StatusCode);
        Assert.False(decoded.BodyOmitted);
        Assert.Equal(body, decoded.Body.ToArray());
        Assert.Equal(3, decoded.Headers.Count);
        Assert.Equal("Location", decoded.Headers[0].Key);
        Assert.Equal(new[] { "/accounts/1" }, decoded.Headers[0].Value);
        Assert.Equal(new[] { "Accept", "Accept-Encoding" }, decoded.Headers[1].Value);
        Assert.Equal("é", decoded.Headers[2].Value[0]);
    }

    [Fact]
    public void EncodeResponse_RoundTrips_TheBodyOmittedFlag()
    {
        var decoded = StoredPayloadFormat.DecodeResponse(StoredPayloadFormat.EncodeResponse(new StoredResponse(200, [], ReadOnlyMemory<byte>.Empty, bodyOmitted: true)));

        Assert.True(decoded.BodyOmitted);
        Assert.Equal(200, decoded.StatusCode);
    }

    [Fact]
    public void Payload_StartsWithTheFormatVersion()
    {
        var payload = StoredPayloadFormat.EncodeResponse(new StoredResponse(204, [], ReadOnlyMemory<byte>.Empty));

        Assert.Equal(StoredPayloadFormat.CurrentVersion, payload[0]);
    }

    [Fact]
    public void DecodeResponse_RejectsAnUnknownVersion_WithAClearMessage()
    {
        var payload = StoredPayloadFormat.EncodeResponse(new StoredResponse(204, [], ReadOnlyMemory<byte>.Empty));
        payload[0] = 99;

        var error = Assert.Throws<InvalidDataException>(() => StoredPayloadFormat.DecodeResponse(payload));
        Assert.Contains("version 99", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DecodeResponse_RejectsTruncatedAndPaddedRecords()
    {
        var payload = StoredPayloadFormat.EncodeResponse(new StoredResponse(200, [new("A", ["b"])], Encoding.UTF8.GetBytes("hello")));

        Assert.Throws<InvalidDataException>(() => StoredPayloadFormat.DecodeResponse(payload.AsMemory(0, payload.Length - 1)));
        Assert.Throws<InvalidDataException>(() => StoredPayloadFormat.DecodeResponse(payload.Concat(new byte[] { 0 }).ToArray()));
    }

    [Fact]
    public void DecodeResponse_RejectsAnOperationResult()
    {
        var payload = StoredPayloadFormat.EncodeOperationResult([1, 2, 3]);

        Assert.Throws<InvalidDataException>(() => StoredPayloadFormat.DecodeResponse(payload));
        Assert.Equal(new byte[] { 1, 2, 3 }, StoredPayloadFormat.DecodeOperationResult(payload).ToArray());
    }
}
