using Idempotency.AspNetCore.Deduplication;

namespace Idempotency.AspNetCore.Tests.Deduplication;

public sealed class FingerprintMediaTypeTests
{
    [Theory]
    [InlineData("application/json", "application/json")]
    [InlineData("  Application/JSON\t", "application/json")]
    [InlineData("application/json; charset=utf-8", "application/json")]
    [InlineData("application/json;CHARSET=\"UTF-8\"", "application/json")]
    [InlineData("application/json; profile=x; charset=utf-8", "application/json")]
    [InlineData("text/plain; charset=UTF-16", "text/plain;charset=utf-16")]
    [InlineData("text/plain ; format=flowed ; charset = \"ISO-8859-1\" ", "text/plain;charset=iso-8859-1")]
    [InlineData("multipart/form-data; boundary=\"a;charset=utf-16\"", "multipart/form-data")]
    [InlineData("text/plain; charset=utf-16; charset=utf-8", "text/plain;charset=utf-16")]
    [InlineData("a/b;charset", "a/b")]
    [InlineData("a/b;charset=", "a/b;charset=")]
    [InlineData("a/b;charset=\"\"", "a/b;charset=")]
    [InlineData("text/plain; charset=\"unterminated", "text/plain;charset=unterminated")]
    [InlineData("", "")]
    [InlineData(";", "")]
    public void Normalize_KeepsTheMediaTypeAndANonUtf8Charset(string contentType, string expected)
    {
        var destination = new char[contentType.Length];

        var written = FingerprintMediaType.Normalize(contentType, destination);

        Assert.Equal(expected, new string(destination, 0, written));
    }

    [Fact]
    public void Normalize_NeverWritesMoreThanItWasGiven()
    {
        // The middleware sizes the destination by the input: any header a client sends must fit.
        var random = new Random(42);
        string[] pieces = ["a/b", "A", ";", "=", " ", "\t", "\"", "\\", "charset", "CharSet", "utf-8", "x"];
        for (var i = 0; i < 20_000; i++)
        {
            var contentType = string.Concat(Enumerable.Range(0, random.Next(0, 8)).Select(_ => pieces[random.Next(pieces.Length)]));
            var destination = new char[contentType.Length];

            var written = FingerprintMediaType.Normalize(contentType, destination);

            Assert.InRange(written, 0, contentType.Length);
        }
    }
}
