using Idempotency.AspNetCore.Preconditions;

namespace Idempotency.AspNetCore.Tests.Preconditions;

public sealed class EntityTagTests
{
    [Theory]
    [InlineData("\"xyz\"", "xyz", false)]
    [InlineData("W/\"xyz\"", "xyz", true)]
    [InlineData("\"\"", "", false)]
    [InlineData("W/\"\"", "", true)]
    [InlineData("\"a,b\"", "a,b", false)] // a comma is an etagc: lists must be split on quotes, not commas
    [InlineData("\"W/x\"", "W/x", false)]
    [InlineData("  \"563\"\t", "563", false)]
    [InlineData("\"caf\u00e9\"", "caf\u00e9", false)] // obs-text
    [InlineData("\"!#~\"", "!#~", false)]
    public void TryParse_ReadsOpaqueTagAndWeakness_WhenValueIsAnEntityTag(string value, string opaque, bool weak)
    {
        Assert.True(EntityTag.TryParse(value, out var tag));

        Assert.Equal(opaque, tag.OpaqueTag);
        Assert.Equal(weak, tag.IsWeak);
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("563")] // unquoted: the most common client mistake
    [InlineData("w/\"563\"")] // the weak prefix is case-sensitive
    [InlineData("W/563")]
    [InlineData("W/")]
    [InlineData("W /\"563\"")]
    [InlineData("\"563")]
    [InlineData("563\"")]
    [InlineData("\"")]
    [InlineData("\"5 6\"")]
    [InlineData("\"5\"6\"")]
    [InlineData("\"5\" \"6\"")]
    [InlineData("\"5\",")]
    [InlineData("*")]
    [InlineData("\"\u0001\"")]
    [InlineData("\"\u007f\"")]
    [InlineData("\"\u0100\"")]
    [InlineData("'563'")]
    public void TryParse_ReturnsFalse_WhenValueIsNotExactlyOneEntityTag(string value)
    {
        Assert.False(EntityTag.TryParse(value, out var tag));
        Assert.Null(tag);
    }

    [Fact]
    public void Parse_ThrowsFormatException_WhenValueIsUnquoted()
    {
        var exception = Assert.Throws<FormatException>(() => EntityTag.Parse("563"));

        Assert.Contains("\"563\"", exception.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("xyz", false, "\"xyz\"")]
    [InlineData("xyz", true, "W/\"xyz\"")]
    [InlineData("", false, "\"\"")]
    public void ToString_FormatsTheHeaderForm(string opaque, bool weak, string expected)
    {
        var tag = new EntityTag(opaque, weak);

        Assert.Equal(expected, tag.ToString());
        Assert.Equal(tag, EntityTag.Parse(tag.ToString()));
    }

    [Theory]
    [InlineData("a\"b")]
    [InlineData("a b")]
    [InlineData("a\u0000")]
    [InlineData("\u20ac")]
    public void Constructor_Throws_WhenOpaqueTagHoldsACharacterATagCannotHold(string opaque)
    {
        Assert.Throws<ArgumentException>(() => new EntityTag(opaque));
    }

    // The table of RFC 9110 section 8.8.3.2.
    [Theory]
    [InlineData("W/\"1\"", "W/\"1\"", false, true)]
    [InlineData("W/\"1\"", "W/\"2\"", false, false)]
    [InlineData("W/\"1\"", "\"1\"", false, true)]
    [InlineData("\"1\"", "\"1\"", true, true)]
    [InlineData("\"1\"", "\"2\"", false, false)]
    [InlineData("\"1\"", "\"01\"", false, false)]
    [InlineData("\"a\"", "\"A\"", false, false)]
    public void StrongEqualsAndWeakEquals_FollowTheComparisonTableOfRfc9110(string left, string right, bool strong, bool weak)
    {
        var a = EntityTag.Parse(left);
        var b = EntityTag.Parse(right);

        Assert.Equal(strong, a.StrongEquals(b));
        Assert.Equal(strong, b.StrongEquals(a));
        Assert.Equal(weak, a.WeakEquals(b));
        Assert.Equal(weak, b.WeakEquals(a));
    }

    [Fact]
    public void StrongEqualsAndWeakEquals_ReturnFalse_WhenOtherIsNull()
    {
        var tag = EntityTag.Parse("\"1\"");

        Assert.False(tag.StrongEquals(null));
        Assert.False(tag.WeakEquals(null));
    }

    [Fact]
    public void Equals_RequiresTheSameWeakness()
    {
        Assert.Equal(EntityTag.Parse("\"1\""), new EntityTag("1"));
        Assert.Equal(EntityTag.Parse("\"1\"").GetHashCode(), new EntityTag("1").GetHashCode());
        Assert.NotEqual(EntityTag.Parse("\"1\""), EntityTag.Parse("W/\"1\""));
    }

    [Theory]
    [InlineData(0L, "\"0\"")]
    [InlineData(563L, "\"563\"")]
    [InlineData(long.MaxValue, "\"9223372036854775807\"")]
    public void FromVersion_CreatesAStrongTagOfTheDecimalVersion(long version, string expected)
    {
        var tag = EntityTag.FromVersion(version);

        Assert.False(tag.IsWeak);
        Assert.Equal(expected, tag.ToString());
        Assert.True(tag.TryGetVersion(out var read));
        Assert.Equal(version, read);
    }

    [Fact]
    public void FromVersion_Throws_WhenVersionIsNegative()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => EntityTag.FromVersion(-1));
    }

    [Theory]
    [InlineData("\"563\"", true, 563L)]
    [InlineData("\"0\"", true, 0L)]
    [InlineData("W/\"7\"", true, 7L)]
    [InlineData("\"9223372036854775807\"", true, long.MaxValue)]
    [InlineData("\"9223372036854775808\"", false, 0L)]
    [InlineData("\"0563\"", false, 0L)] // "0563" and "563" differ under strong comparison: only one may name version 563
    [InlineData("\"00\"", false, 0L)]
    [InlineData("\"-1\"", false, 0L)]
    [InlineData("\"+1\"", false, 0L)]
    [InlineData("\"1.0\"", false, 0L)]
    [InlineData("\"\"", false, 0L)]
    [InlineData("\"abc\"", false, 0L)]
    [InlineData("\"\u00b2\"", false, 0L)] // a superscript two (obs-text)
    public void TryGetVersion_ReadsOnlyCanonicalDecimalVersions(string value, bool expected, long expectedVersion)
    {
        var ok = EntityTag.Parse(value).TryGetVersion(out var version);

        Assert.Equal(expected, ok);
        Assert.Equal(expectedVersion, version);
    }

    [Fact]
    public void FromHash_GivesTheSameTag_ForTheSameBytes()
    {
        var first = EntityTag.FromHash("{\"balance\":100}"u8);
        var second = EntityTag.FromHash("{\"balance\":100}"u8);

        Assert.Equal(first, second);
        Assert.True(first.StrongEquals(second));
    }

    [Fact]
    public void FromHash_GivesDifferentTags_ForDifferentBytes()
    {
        var first = EntityTag.FromHash("{\"balance\":100}"u8);
        var second = EntityTag.FromHash("{\"balance\":101}"u8);

        Assert.False(first.WeakEquals(second));
    }

    [Fact]
    public void FromHash_IsTheBase64UrlOfTheFirst128BitsOfSha256()
    {
        // SHA-256("abc") = ba7816bf8f01cfea414140de5dae2223 b00361a396177a9cb410ff61f20015ad
        var tag = EntityTag.FromHash("abc"u8);

        Assert.Equal(Convert.FromHexString("ba7816bf8f01cfea414140de5dae2223"), System.Buffers.Text.Base64Url.DecodeFromChars(tag.OpaqueTag));
        Assert.Equal(22, tag.OpaqueTag.Length);
        Assert.True(EntityTag.TryParse(tag.ToString(), out _));
    }

    [Fact]
    public void FromHash_CreatesAWeakTag_WhenAsked()
    {
        var tag = EntityTag.FromHash("abc"u8, isWeak: true);

        Assert.True(tag.IsWeak);
        Assert.StartsWith("W/\"", tag.ToString(), StringComparison.Ordinal);
    }
}
