using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Idempotency.Core.Tests.Fingerprints;

public sealed class RequestFingerprintBuilderTests
{
    [Fact]
    public void Finish_IsDeterministic_AndThirtyTwoBytes()
    {
        var first = Fingerprint("POST", "/accounts", "{\"owner\":\"andrew\"}");
        var second = Fingerprint("POST", "/accounts", "{\"owner\":\"andrew\"}");

        Assert.Equal(RequestFingerprintBuilder.FingerprintSize, first.Length);
        Assert.Equal(first, second);
    }

    [Fact]
    public void Finish_Differs_WhenAnyFieldOrTheBodyDiffers()
    {
        var baseline = Fingerprint("POST", "/accounts", "{}");

        Assert.NotEqual(baseline, Fingerprint("PUT", "/accounts", "{}"));
        Assert.NotEqual(baseline, Fingerprint("POST", "/accounts/1", "{}"));
        Assert.NotEqual(baseline, Fingerprint("POST", "/accounts", "{ }"));
    }

    [Fact]
    public void Finish_Differs_WhenBytesMoveBetweenFields()
    {
        Assert.NotEqual(Fingerprint("ab", "c", ""), Fingerprint("a", "bc", ""));
        Assert.NotEqual(Fingerprint("a", "b", "c"), Fingerprint("a", "bc", ""));
    }

    [Fact]
    public void Finish_TellsNullFromEmpty()
    {
        using var withNull = new RequestFingerprintBuilder();
        withNull.AppendField(null);
        using var withEmpty = new RequestFingerprintBuilder();
        withEmpty.AppendField(string.Empty);

        Assert.NotEqual(withNull.Finish(), withEmpty.Finish());
    }

    [Fact]
    public void AppendBody_InChunks_EqualsOneChunk()
    {
        var body = RandomNumberGenerator.GetBytes(100_000);
        using var chunked = new RequestFingerprintBuilder();
        for (var offset = 0; offset < body.Length; offset += 7_777)
        {
            chunked.AppendBody(body.AsSpan(offset, Math.Min(7_777, body.Length - offset)));
        }

        Assert.Equal(RequestFingerprintBuilder.Compute(body), chunked.Finish());
    }

    [Fact]
    public void ABuilderAbandonedMidway_DoesNotLeakIntoTheNextOnTheSameThread()
    {
        var expected = Fingerprint("POST", "/accounts", "{}");
        using (var abandoned = new RequestFingerprintBuilder())
        {
            abandoned.AppendField("GARBAGE");
            abandoned.AppendBody(new byte[2_000]); // past the staging buffer, so the hash itself holds state
        }

        Assert.Equal(expected, Fingerprint("POST", "/accounts", "{}"));
    }

    [Fact]
    public void Finish_MatchesAPlainSha256OfTheLengthPrefixedInput()
    {
        // The format is part of the stored data: fingerprints must not change between versions.
        var input = new List<byte> { 1, 0, 0, 0, 4 };
        input.AddRange("POST"u8.ToArray());
        input.Add(0);
        input.AddRange("{}"u8.ToArray());
        input.AddRange(new byte[] { 0, 0, 0, 0, 0, 0, 0, 2 });
        using var builder = new RequestFingerprintBuilder();
        builder.AppendField("POST");
        builder.AppendField(null);
        builder.AppendBody("{}"u8);

        Assert.Equal(SHA256.HashData(input.ToArray()), builder.Finish());
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(400, 7)]
    [InlineData(490, 490)]
    [InlineData(491, 491)]
    [InlineData(2_000, 100)]
    [InlineData(100_000, 100_000)]
    public void Finish_MatchesAPlainSha256_WhetherTheInputFitsTheStagingBufferOrNot(int bodyLength, int chunkSize)
    {
        // Inputs up to 512 bytes are hashed in one call, longer ones incrementally: the same digest either way, twice
        // in a row on one thread (the builders share the thread's hash).
        for (var round = 0; round < 2; round++)
        {
            var body = Enumerable.Range(0, bodyLength).Select(i => (byte)(i * 31)).ToArray();
            var input = new List<byte> { 1, 0, 0, 0, 4 };
            input.AddRange("POST"u8.ToArray());
            input.AddRange(body);
            var length = new byte[8];
            System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(length, bodyLength);
            input.AddRange(length);

            using var builder = new RequestFingerprintBuilder();
            builder.AppendField("POST");
            for (var offset = 0; offset < body.Length; offset += chunkSize)
            {
                builder.AppendBody(body.AsSpan(offset, Math.Min(chunkSize, body.Length - offset)));
            }

            Assert.Equal(SHA256.HashData(input.ToArray()), builder.Finish());
        }
    }

    [Fact]
    public void AppendField_HandlesLongValues()
    {
        var longPath = new string('p', 10_000);

        Assert.NotEqual(Fingerprint("POST", longPath, ""), Fingerprint("POST", longPath + "q", ""));
    }

    [Fact]
    public void ForHttpRequestV1_IsExactlyTheInputReleasesBeforeVersion2Hashed()
    {
        // Records written before version 2 hold this: method, route, path base, path, query, body, body length.
        var input = new List<byte>();
        foreach (var field in (string[])["POST", "/accounts/{id}", "", "/accounts/7", "?x=1"])
        {
            input.AddRange(Field(field));
        }

        input.AddRange("{}"u8.ToArray());
        input.AddRange(new byte[] { 0, 0, 0, 0, 0, 0, 0, 2 });
        using var builder = RequestFingerprintBuilder.ForHttpRequestV1("POST", "/accounts/{id}", "", "/accounts/7", "?x=1");
        builder.AppendBody("{}"u8);

        Assert.Equal(SHA256.HashData(input.ToArray()), builder.Finish());
    }

    [Fact]
    public void ForHttpRequest_HashesTheVersionTag_TheRequestLine_EachHeaderAsNameAndValue_ThenTheBody()
    {
        var input = new List<byte> { 2 };
        input.AddRange("idempotency/http-request"u8.ToArray());
        input.AddRange(Field("POST"));
        input.Add(0); // a null route
        foreach (var field in (string[])["", "/accounts/7", "", "if-match", "\"v1\""])
        {
            input.AddRange(Field(field));
        }

        input.AddRange("{}"u8.ToArray());
        input.AddRange(new byte[] { 0, 0, 0, 0, 0, 0, 0, 2 });
        using var builder = RequestFingerprintBuilder.ForHttpRequest("POST", null, "", "/accounts/7", "");
        builder.AppendHeader("If-Match", "\"v1\"");
        builder.AppendBody("{}"u8);

        Assert.Equal(RequestFingerprintBuilder.FingerprintSize, SHA256.HashSizeInBytes);
        Assert.Equal(SHA256.HashData(input.ToArray()), builder.Finish());
    }

    [Fact]
    public void ForHttpRequest_DiffersFromVersion1_ForTheSameRequest()
    {
        using var v1 = RequestFingerprintBuilder.ForHttpRequestV1("POST", "/pay", "", "/pay", "");
        using var v2 = RequestFingerprintBuilder.ForHttpRequest("POST", "/pay", "", "/pay", "");

        Assert.NotEqual(v1.Finish(), v2.Finish());
    }

    [Fact]
    public void AppendHeader_TellsAnEmptyValueFromNoHeader_AndOneHeaderFromAnother()
    {
        var none = Http();
        var empty = Http(("if-match", ""));

        Assert.NotEqual(none, empty);
        Assert.NotEqual(Http(("if-match", "\"a\"")), Http(("if-none-match", "\"a\"")));
        Assert.NotEqual(Http(("if-match", "\"a\"")), Http(("if-match", "\"A\"")));
        Assert.NotEqual(Http(("a", "bc")), Http(("ab", "c")));
    }

    [Fact]
    public void AppendHeader_ComparesNamesCaseInsensitively_EvenPastTheStagingBuffer()
    {
        var longName = "X-" + new string('n', 600);

        Assert.Equal(Http(("If-Match", "\"a\"")), Http(("if-match", "\"a\"")));
        Assert.Equal(Http((longName.ToUpperInvariant(), "v")), Http((longName, "v")));
        Assert.NotEqual(Http((longName, new string('v', 600))), Http((longName, new string('v', 599) + "w")));
    }

    [Fact]
    public void AppendHeader_IsRefused_WithoutAVersion2Layout_OrAfterTheBody()
    {
        using var plain = new RequestFingerprintBuilder();
        using var v1 = RequestFingerprintBuilder.ForHttpRequestV1("POST", "/pay", "", "/pay", "");
        using var bodyFirst = RequestFingerprintBuilder.ForHttpRequest("POST", "/pay", "", "/pay", "");
        bodyFirst.AppendBody("{}"u8);

        Assert.Throws<InvalidOperationException>(() => plain.AppendHeader("if-match", "*"));
        Assert.Throws<InvalidOperationException>(() => v1.AppendHeader("if-match", "*"));
        Assert.Throws<InvalidOperationException>(() => bodyFirst.AppendHeader("if-match", "*"));
    }

    private static byte[] Field(string value)
    {
        var bytes = Encoding.UTF8.GetBytes(value);
        var prefix = new byte[5];
        prefix[0] = 1;
        BinaryPrimitives.WriteInt32BigEndian(prefix.AsSpan(1), bytes.Length);
        return [.. prefix, .. bytes];
    }

    private static byte[] Http(params (string Name, string Value)[] headers)
    {
        using var builder = RequestFingerprintBuilder.ForHttpRequest("POST", "/pay", "", "/pay", "");
        foreach (var (name, value) in headers)
        {
            builder.AppendHeader(name, value);
        }

        builder.AppendBody("{}"u8);
        return builder.Finish();
    }

    private static byte[] Fingerprint(string method, string path, string body)
    {
        using var builder = new RequestFingerprintBuilder();
        builder.AppendField(method);
        builder.AppendField(path);
        builder.AppendBody(Encoding.UTF8.GetBytes(body));
        return builder.Finish();
    }
}
