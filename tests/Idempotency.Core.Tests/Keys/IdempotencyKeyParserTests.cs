namespace Idempotency.Core.Tests.Keys;

public sealed class IdempotencyKeyParserTests
{
    private const int MaxLength = 255;

    [Theory]
    [InlineData("\"8e03978e-40d5-43e8-bc93-6894a57f9324\"", "8e03978e-40d5-43e8-bc93-6894a57f9324")]
    [InlineData("8e03978e-40d5-43e8-bc93-6894a57f9324", "8e03978e-40d5-43e8-bc93-6894a57f9324")]
    [InlineData("  \"abc\"  ", "abc")]
    [InlineData("\tabc ", "abc")]
    [InlineData("\"abc\";p=1", "abc")]
    [InlineData("\"abc\";p=1;q", "abc")]
    [InlineData("\"a\\\"b\\\\c\"", "a\"b\\c")]
    [InlineData("\"a,b;c\"", "a,b;c")]
    [InlineData("key_with.symbols~!#$%&'*+-^`|", "key_with.symbols~!#$%&'*+-^`|")]
    public void TryParse_ReturnsTheKey_ForValidValues(string value, string expected)
    {
        var status = IdempotencyKeyParser.TryParse(value, strict: false, MaxLength, out var key);

        Assert.Equal(IdempotencyKeyParseStatus.Valid, status);
        Assert.Equal(expected, key);
    }

    [Fact]
    public void QuotedAndBareForms_NameTheSameKey()
    {
        IdempotencyKeyParser.TryParse("\"abc\"", strict: false, MaxLength, out var quoted);
        IdempotencyKeyParser.TryParse("abc", strict: false, MaxLength, out var bare);

        Assert.Equal(quoted, bare);
    }

    [Theory]
    [InlineData("", IdempotencyKeyParseStatus.Empty)]
    [InlineData("   ", IdempotencyKeyParseStatus.Empty)]
    [InlineData("\"\"", IdempotencyKeyParseStatus.Empty)]
    [InlineData("\"abc", IdempotencyKeyParseStatus.Malformed)]
    [InlineData("\"abc\"x", IdempotencyKeyParseStatus.Malformed)]
    [InlineData("\"abc\" , \"def\"", IdempotencyKeyParseStatus.Malformed)]
    [InlineData("\"abc\";", IdempotencyKeyParseStatus.Malformed)]
    [InlineData("\"abc\";P=1", IdempotencyKeyParseStatus.Malformed)]
    [InlineData("\"a\\bc\"", IdempotencyKeyParseStatus.Malformed)]
    [InlineData("abc,def", IdempotencyKeyParseStatus.Malformed)]
    [InlineData("abc;p=1", IdempotencyKeyParseStatus.Malformed)]
    [InlineData("ab\"c", IdempotencyKeyParseStatus.Malformed)]
    [InlineData("a b", IdempotencyKeyParseStatus.InvalidCharacter)]
    [InlineData("\"a b\"", IdempotencyKeyParseStatus.InvalidCharacter)]
    [InlineData("a\u0001b", IdempotencyKeyParseStatus.InvalidCharacter)]
    [InlineData("\"a\u007fb\"", IdempotencyKeyParseStatus.InvalidCharacter)]
    [InlineData("\"a\tb\"", IdempotencyKeyParseStatus.InvalidCharacter)]
    [InlineData("clé", IdempotencyKeyParseStatus.InvalidCharacter)]
    [InlineData("\"键\"", IdempotencyKeyParseStatus.InvalidCharacter)]
    public void TryParse_RejectsInvalidValues_WithTheReason(string value, IdempotencyKeyParseStatus expected)
    {
        var status = IdempotencyKeyParser.TryParse(value, strict: false, MaxLength, out var key);

        Assert.Equal(expected, status);
        Assert.Null(key);
    }

    [Fact]
    public void TryParse_AcceptsTheMaximumLength_AndRejectsOneMore()
    {
        var longest = new string('k', MaxLength);

        Assert.Equal(IdempotencyKeyParseStatus.Valid, IdempotencyKeyParser.TryParse(longest, false, MaxLength, out _));
        Assert.Equal(IdempotencyKeyParseStatus.Valid, IdempotencyKeyParser.TryParse($"\"{longest}\"", false, MaxLength, out _));
        Assert.Equal(IdempotencyKeyParseStatus.TooLong, IdempotencyKeyParser.TryParse(longest + "k", false, MaxLength, out _));
        Assert.Equal(IdempotencyKeyParseStatus.TooLong, IdempotencyKeyParser.TryParse($"\"{longest}k\"", false, MaxLength, out _));
    }

    [Fact]
    public void TryParse_CountsAnEscapedCharacterOnce_AgainstTheMaximumLength()
    {
        var value = "\"" + string.Concat(Enumerable.Repeat("\\\"", MaxLength)) + "\"";

        var status = IdempotencyKeyParser.TryParse(value, false, MaxLength, out var key);

        Assert.Equal(IdempotencyKeyParseStatus.Valid, status);
        Assert.Equal(new string('"', MaxLength), key);
    }

    [Fact]
    public void StrictMode_AcceptsOnlyTheQuotedForm()
    {
        Assert.Equal(IdempotencyKeyParseStatus.Valid, IdempotencyKeyParser.TryParse("\"abc\"", strict: true, MaxLength, out _));
        Assert.Equal(IdempotencyKeyParseStatus.NotQuoted, IdempotencyKeyParser.TryParse("abc", strict: true, MaxLength, out _));
    }
}
