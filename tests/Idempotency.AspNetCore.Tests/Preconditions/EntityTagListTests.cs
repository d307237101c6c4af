using Idempotency.AspNetCore.Preconditions;
using Microsoft.Extensions.Primitives;

namespace Idempotency.AspNetCore.Tests.Preconditions;

public sealed class EntityTagListTests
{
    [Fact]
    public void TryParse_ReadsAny_WhenValueIsAStar()
    {
        Assert.True(EntityTagList.TryParse(" * ", out var list));

        Assert.True(list.IsAny);
        Assert.Empty(list.Tags);
        Assert.Equal("*", list.ToString());
    }

    [Fact]
    public void TryParse_ReadsEveryTagInOrder_WhenValueIsAList()
    {
        Assert.True(EntityTagList.TryParse("\"a\", W/\"b\",\"c,d\"", out var list));

        Assert.False(list.IsAny);
        Assert.Equal(["\"a\"", "W/\"b\"", "\"c,d\""], list.Tags.Select(t => t.ToString()));
        Assert.Equal("\"a\", W/\"b\", \"c,d\"", list.ToString());
    }

    [Fact]
    public void TryParse_CombinesFieldLines_AsOneList()
    {
        Assert.True(EntityTagList.TryParse(new StringValues(["\"a\"", "\"b\", \"c\""]), out var list));

        Assert.Equal(["a", "b", "c"], list.Tags.Select(t => t.OpaqueTag));
    }

    [Fact]
    public void TryParse_SkipsEmptyListElements()
    {
        Assert.True(EntityTagList.TryParse(", \"a\" ,, \t\"b\",", out var list));

        Assert.Equal(["a", "b"], list.Tags.Select(t => t.OpaqueTag));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" , ,")]
    [InlineData("*, \"a\"")]
    [InlineData("\"a\", *")]
    [InlineData("*, *")]
    [InlineData("**")]
    [InlineData("\"a\" \"b\"")]
    [InlineData("\"a\";q=1")]
    [InlineData("563")]
    [InlineData("\"563\", 564")]
    [InlineData("w/\"563\"")]
    [InlineData("\"563")]
    public void TryParse_ReturnsFalse_WhenValueIsNotStarOrAListOfTags(string value)
    {
        Assert.False(EntityTagList.TryParse(value, out var list));
        Assert.Null(list);
    }

    [Fact]
    public void TryParse_ReturnsFalse_WhenStarAndTagsComeOnSeparateFieldLines()
    {
        Assert.False(EntityTagList.TryParse(new StringValues(["*", "\"a\""]), out _));
    }

    [Fact]
    public void TryParse_ReturnsFalse_WhenHeaderIsAbsent()
    {
        Assert.False(EntityTagList.TryParse(StringValues.Empty, out _));
    }

    [Fact]
    public void MatchesStrongly_WithStar_IsTrueOnlyWhenARepresentationExists()
    {
        Assert.True(EntityTagList.Any.MatchesStrongly(EntityTag.Parse("W/\"weak\"")));
        Assert.False(EntityTagList.Any.MatchesStrongly(null));
    }

    [Theory]
    [InlineData("\"1\", \"2\"", "\"2\"", true)]
    [InlineData("\"1\", \"2\"", "\"3\"", false)]
    [InlineData("W/\"2\"", "\"2\"", false)]
    [InlineData("\"2\"", "W/\"2\"", false)]
    [InlineData("W/\"1\", \"2\"", "\"2\"", true)]
    public void MatchesStrongly_UsesStrongComparison(string header, string current, bool expected)
    {
        Assert.True(EntityTagList.TryParse(header, out var list));

        Assert.Equal(expected, list.MatchesStrongly(EntityTag.Parse(current)));
        Assert.False(list.MatchesStrongly(null));
    }

    [Theory]
    [InlineData("W/\"2\"", "\"2\"", true)]
    [InlineData("\"2\"", "W/\"2\"", true)]
    [InlineData("W/\"1\", W/\"2\"", "W/\"2\"", true)]
    [InlineData("\"1\"", "\"2\"", false)]
    public void MatchesWeakly_UsesWeakComparison(string header, string current, bool expected)
    {
        Assert.True(EntityTagList.TryParse(header, out var list));

        Assert.Equal(expected, list.MatchesWeakly(EntityTag.Parse(current)));
        Assert.False(list.MatchesWeakly(null));
    }

    [Fact]
    public void MatchesWeakly_WithStar_IsTrueOnlyWhenARepresentationExists()
    {
        Assert.True(EntityTagList.Any.MatchesWeakly(EntityTag.Parse("\"x\"")));
        Assert.False(EntityTagList.Any.MatchesWeakly(null));
    }

    [Fact]
    public void Of_Throws_WhenGivenNoTag()
    {
        Assert.Throws<ArgumentException>(() => EntityTagList.Of());
    }

    [Fact]
    public void Of_KeepsTheTagsGiven()
    {
        var list = EntityTagList.Of(EntityTag.FromVersion(1), EntityTag.FromVersion(2));

        Assert.Equal("\"1\", \"2\"", list.ToString());
        Assert.True(list.MatchesStrongly(EntityTag.FromVersion(2)));
    }
}
