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

    [Fact]
    public void OutcomeUnknown_RoundTrips_TheStartedStatus_AndIsNeverReadAsAResponse()
    {
        var payload = StoredPayloadFormat.EncodeOutcomeUnknown(201);

        Assert.True(StoredPayloadFormat.IsOutcomeUnknown(payload, out var status));
        Assert.Equal(201, status);
        Assert.Throws<InvalidDataException>(() => StoredPayloadFormat.DecodeResponse(payload));
        Assert.False(StoredPayloadFormat.IsOutcomeUnknown(StoredPayloadFormat.EncodeResponse(new StoredResponse(200, [], Array.Empty<byte>())), out _));
    }

    [Theory]
    [InlineData(42, "Location", "/p/1")]
    [InlineData(200, "", "v")]
    [InlineData(200, "Bad Name", "v")]
    [InlineData(200, "Location", "/p/1\r\nSet-Cookie: a=b")]
    [InlineData(200, "Location", "/p/\u0000")]
    public void DecodeResponse_RefusesValuesNoHttpResponseCanCarry(int status, string name, string value)
    {
        var valid = StoredPayloadFormat.EncodeResponse(new StoredResponse(200, [new("H", ["v"])], Array.Empty<byte>()));
        var forged = new List<byte>(valid[..2]);
        forged.AddRange(new byte[] { (byte)(status >> 8), (byte)status, 0, 0, 1 });
        AddString(forged, name);
        forged.AddRange(new byte[] { 0, 1 });
        AddString(forged, value);
        forged.AddRange(new byte[] { 0, 0, 0, 0 });

        Assert.Throws<InvalidDataException>(() => StoredPayloadFormat.DecodeResponse(forged.ToArray()));

        static void AddString(List<byte> bytes, string text)
        {
            var utf8 = Encoding.UTF8.GetBytes(text);
            bytes.AddRange(new byte[] { (byte)(utf8.Length >> 24), (byte)(utf8.Length >> 16), (byte)(utf8.Length >> 8), (byte)utf8.Length });
            bytes.AddRange(utf8);
        }
    }
}
