using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Idempotency.PostgreSql.Tests.Storage;

/// <summary>
/// The advisory lock key of a record is what every instance, of this version or an older one, locks: the allocation-free
/// form used on the hot path must give the very key of the original formula, whatever the key holds.
/// </summary>
public sealed class PostgreSqlAdvisoryLocksTests
{
    public static TheoryData<string> Keys => new()
    {
        "k1",
        "tenant-42:\"3f1c2a9e-7b1d-4c55-9a1e-0123456789ab\"",
        "clé-ünïcødé-键-🔑",
        "lone-surrogate-\ud800-end",
        new string('x', 600),          // longer than the stack buffer
        new string('é', 300) + "🔑",   // multi-byte characters across the stack buffer's size
    };

    [Theory]
    [MemberData(nameof(Keys))]
    public void ForPrefix_GivesTheKeyOfTheOriginalFormula(string key)
    {
        var sql = new PostgreSqlStoreSql("public", "idempotency_records");

        var fromPrefix = PostgreSqlAdvisoryLocks.For(sql.LockKeyPrefix, key);

        Assert.Equal(PostgreSqlAdvisoryLocks.For(sql.QualifiedTableName, key), fromPrefix);
        Assert.Equal(FirstEightBytesOfSha256(sql.QualifiedTableName + ":" + key), fromPrefix);
    }

    [Fact]
    public void For_IsTheFirstEightBytesOfSha256_BigEndian()
    {
        // Pinned: a change of formula would let instances of two versions run the same key at once during an upgrade.
        Assert.Equal(FirstEightBytesOfSha256("\"public\".\"idempotency_records\":k1"), PostgreSqlAdvisoryLocks.For("\"public\".\"idempotency_records\"", "k1"));
    }

    private static long FirstEightBytesOfSha256(string text) =>
        BinaryPrimitives.ReadInt64BigEndian(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
}
