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

    [Fact]
    public void AppendField_HandlesLongValues()
    {
        var longPath = new string('p', 10_000);

        Assert.NotEqual(Fingerprint("POST", longPath, ""), Fingerprint("POST", longPath + "q", ""));
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
