using BankLedger.Tests.Infrastructure;

namespace BankLedger.Tests.StoreModes;

/// <summary>The whole ledger API suite against the sample in postgres mode: keys and ledger in a real PostgreSQL.</summary>
[Collection(PostgreSqlSampleCollection.Name)]
public sealed class PostgreSqlLedgerApiTests(PostgreSqlSampleFixture fixture) : LedgerApiTests(fixture.Factory);

/// <summary>The conditional entries suite (If-Match, 412, 428, 304) against the sample in postgres mode.</summary>
[Collection(PostgreSqlSampleCollection.Name)]
public sealed class PostgreSqlConditionalEntriesTests(PostgreSqlSampleFixture fixture) : ConditionalEntriesTests(fixture.Factory);

/// <summary>The whole ledger API suite against the sample in efcore mode: the ledger on EF Core, keyed writes in its transactional mode.</summary>
[Collection(PostgreSqlSampleCollection.Name)]
public sealed class EfCoreLedgerApiTests(PostgreSqlSampleFixture fixture) : LedgerApiTests(fixture.EfCoreFactory);

/// <summary>The conditional entries suite (If-Match, 412, 428, 304) against the sample in efcore mode.</summary>
[Collection(PostgreSqlSampleCollection.Name)]
public sealed class EfCoreConditionalEntriesTests(PostgreSqlSampleFixture fixture) : ConditionalEntriesTests(fixture.EfCoreFactory);
