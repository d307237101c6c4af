using BankLedger.Tests.Infrastructure;

namespace BankLedger.Tests.StoreModes;

/// <summary>The whole ledger API suite against the sample in postgres mode: keys and ledger in a real PostgreSQL.</summary>
[Collection(PostgreSqlSampleCollection.Name)]
public sealed class PostgreSqlLedgerApiTests(PostgreSqlSampleFixture fixture) : LedgerApiTests(fixture.Factory);

/// <summary>The conditional entries suite (If-Match, 412, 428, 304) against the sample in postgres mode.</summary>
[Collection(PostgreSqlSampleCollection.Name)]
public sealed class PostgreSqlConditionalEntriesTests(PostgreSqlSampleFixture fixture) : ConditionalEntriesTests(fixture.Factory);
