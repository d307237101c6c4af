#!/usr/bin/env bash
# Proves that the Idempotency.Stores.Conformance package works as a store author outside this repository uses it:
# packs Idempotency.Core and Idempotency.Stores.Conformance into a local folder, creates a throwaway xunit project in
# a temporary directory (outside the solution, no project references, none of the repository's build files), whose
# small dictionary stores inherit the three suites, and runs `dotnet test` there. Every test must pass.
#
#   scripts/conformance-package-smoke.sh            # prints one line on success; the build logs on failure
#   KEEP_SMOKE_DIR=1 scripts/conformance-package-smoke.sh   # keeps the temporary directory to look at
#
# How the packages are packed and restored: scripts/lib/package-feed.sh.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

source "$repo/scripts/lib/package-feed.sh"
feed_init conformance-package-smoke

# Versions of the test packages: the ones the repository's own test projects use.
test_sdk="$(feed_package_version Microsoft.NET.Test.Sdk)"
xunit="$(feed_package_version xunit)"
xunit_runner="$(feed_package_version xunit.runner.visualstudio)"
fake_time="$(feed_package_version Microsoft.Extensions.TimeProvider.Testing)"
[ -n "$test_sdk" ] && [ -n "$xunit" ] && [ -n "$xunit_runner" ] && [ -n "$fake_time" ] \
  || fail "could not read the test package versions from Directory.Packages.props"

feed_pack Idempotency.Core Idempotency.Stores.Conformance

# The throwaway project, which builds against the packed packages and nothing of the repository's.
feed_isolate "$work/smoke"
cd "$work/smoke"

cat > Smoke.Tests.csproj <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
    <IsPackable>false</IsPackable>
    <!-- Read every package already on this machine from the global packages folder; write only our own. -->
    <RestoreFallbackFolders>$global_packages</RestoreFallbackFolders>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Idempotency.Stores.Conformance" Version="$version" />
    <PackageReference Include="Microsoft.NET.Test.Sdk" Version="$test_sdk" />
    <PackageReference Include="xunit" Version="$xunit" />
    <PackageReference Include="xunit.runner.visualstudio" Version="$xunit_runner" />
    <PackageReference Include="Microsoft.Extensions.TimeProvider.Testing" Version="$fake_time" />
  </ItemGroup>
</Project>
EOF

cat > DictionaryStore.cs <<'EOF'
using Idempotency;

namespace Smoke;

/// <summary>The smallest store a third party might write: one dictionary under one lock.</summary>
public sealed class DictionaryStore(TimeProvider time) : IIdempotencyStore
{
    private static readonly TimeSpan LeaseGracePeriod = TimeSpan.FromMinutes(1);
    private readonly Dictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public ValueTask<IdempotencyClaimResult> ClaimAsync(IdempotencyClaimRequest request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (_entries.TryGetValue(request.Key, out var entry) && (entry.Completed ? now < entry.ExpiresAt : now < entry.LeaseEndsAt))
            {
                if (!entry.Fingerprint.AsSpan().SequenceEqual(request.Fingerprint.Span))
                {
                    return ValueTask.FromResult(IdempotencyClaimResult.FingerprintMismatch());
                }

                return ValueTask.FromResult(entry.Completed
                    ? IdempotencyClaimResult.Completed(entry.Payload)
                    : IdempotencyClaimResult.InFlight(entry.LeaseEndsAt - now));
            }

            var leaseEndsAt = now + request.LeaseDuration;
            _entries[request.Key] = new Entry(request.Fingerprint.ToArray(), request.OwnerToken, leaseEndsAt, Completed: false, [], default);
            return ValueTask.FromResult(IdempotencyClaimResult.Claimed(leaseEndsAt));
        }
    }

    public ValueTask<CompletionStatus> CompleteAsync(IdempotencyCompleteRequest request, CancellationToken cancellationToken)
    {
        var payload = request.Payload.ToArray();
        var now = time.GetUtcNow();
        lock (_lock)
        {
            if (!IsHeldBy(request.Key, request.OwnerToken, now, out var entry))
            {
                return ValueTask.FromResult(CompletionStatus.ClaimLost);
            }

            _entries[request.Key] = entry with { Completed = true, Payload = payload, ExpiresAt = now + request.Retention };
            return ValueTask.FromResult(CompletionStatus.Completed);
        }
    }

    public ValueTask<bool> ReleaseAsync(string key, string ownerToken, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(IsHeldBy(key, ownerToken, time.GetUtcNow(), out _) && _entries.Remove(key));
        }
    }

    private bool IsHeldBy(string key, string owner, DateTimeOffset now, out Entry entry) =>
        _entries.TryGetValue(key, out entry!) && !entry.Completed && entry.Owner == owner && now < entry.LeaseEndsAt + LeaseGracePeriod;

    private sealed record Entry(byte[] Fingerprint, string Owner, DateTimeOffset LeaseEndsAt, bool Completed, byte[] Payload, DateTimeOffset ExpiresAt);
}

/// <summary>Versioned records in one dictionary under one lock.</summary>
public sealed class DictionaryVersionedRecordStore : IVersionedRecordStore
{
    private readonly Dictionary<string, VersionedRecord> _records = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public ValueTask<VersionedRecord?> GetAsync(string id, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult(_records.GetValueOrDefault(id));
        }
    }

    public ValueTask<ConditionalWriteResult> CreateAsync(string id, ReadOnlyMemory<byte> value, CancellationToken cancellationToken) =>
        Write(id, expectedVersion: 0, value.ToArray(), create: true);

    public ValueTask<ConditionalWriteResult> UpdateIfVersionAsync(string id, long expectedVersion, ReadOnlyMemory<byte> value, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        return Write(id, expectedVersion, value.ToArray(), create: false);
    }

    private ValueTask<ConditionalWriteResult> Write(string id, long expectedVersion, byte[] value, bool create)
    {
        lock (_lock)
        {
            var current = _records.GetValueOrDefault(id)?.Version ?? 0;
            if (current == 0 && !create)
            {
                return ValueTask.FromResult(ConditionalWriteResult.NotFound());
            }

            if (current != expectedVersion)
            {
                return ValueTask.FromResult(ConditionalWriteResult.VersionConflict(current));
            }

            _records[id] = new VersionedRecord(current + 1, value);
            return ValueTask.FromResult(ConditionalWriteResult.Applied(current + 1));
        }
    }
}

/// <summary>Append-only streams in one dictionary under one lock.</summary>
public sealed class DictionaryAppendOnlyStreamStore : IAppendOnlyStreamStore
{
    private readonly Dictionary<string, List<byte[]>> _streams = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    public ValueTask<ConditionalWriteResult> AppendIfLastAsync(string stream, long expectedLastSequence, ReadOnlyMemory<byte> payload, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(expectedLastSequence);
        var copy = payload.ToArray();
        lock (_lock)
        {
            var entries = _streams.TryGetValue(stream, out var list) ? list : _streams[stream] = [];
            if (entries.Count != expectedLastSequence)
            {
                return ValueTask.FromResult(ConditionalWriteResult.VersionConflict(entries.Count));
            }

            entries.Add(copy);
            return ValueTask.FromResult(ConditionalWriteResult.Applied(entries.Count));
        }
    }

    public ValueTask<long> GetLastSequenceAsync(string stream, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            return ValueTask.FromResult((long)(_streams.TryGetValue(stream, out var entries) ? entries.Count : 0));
        }
    }

    public ValueTask<IReadOnlyList<StreamEntry>> ReadAsync(string stream, long fromSequence, int maxCount, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(fromSequence, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxCount, 1);
        lock (_lock)
        {
            IReadOnlyList<StreamEntry> read = _streams.TryGetValue(stream, out var entries)
                ? entries.Select((payload, index) => new StreamEntry(index + 1, payload)).Skip((int)(fromSequence - 1)).Take(maxCount).ToList()
                : [];
            return ValueTask.FromResult(read);
        }
    }
}
EOF

cat > ConformanceTests.cs <<'EOF'
using Idempotency;
using Idempotency.Stores.Conformance;
using Idempotency.Stores.Conformance.ConditionalWrites;
using Microsoft.Extensions.Time.Testing;

namespace Smoke;

public sealed class DictionaryStoreConformanceTests : IdempotencyStoreConformanceTests
{
    private readonly FakeTimeProvider _time = new();

    public DictionaryStoreConformanceTests() => Store = new DictionaryStore(_time);

    protected override IIdempotencyStore Store { get; }

    protected override Task AdvanceTimeAsync(TimeSpan duration)
    {
        _time.Advance(duration);
        return Task.CompletedTask;
    }
}

public sealed class DictionaryVersionedRecordStoreConformanceTests : VersionedRecordStoreConformanceTests
{
    protected override IVersionedRecordStore Store { get; } = new DictionaryVersionedRecordStore();
}

public sealed class DictionaryAppendOnlyStreamStoreConformanceTests : AppendOnlyStreamStoreConformanceTests
{
    protected override IAppendOnlyStreamStore Store { get; } = new DictionaryAppendOnlyStreamStore();
}
EOF

dotnet restore --packages "$work/packages" >"$work/logs/restore.log" 2>&1 \
  || fail "the throwaway project could not restore the packed packages from $feed" "$work/logs/restore.log"
dotnet test --no-restore --disable-build-servers -c Release --logger "trx;LogFileName=smoke.trx" --results-directory "$work/results" \
  >"$work/logs/test.log" 2>&1 \
  || fail "dotnet test of the throwaway project did not pass" "$work/logs/test.log"

trx="$work/results/smoke.trx"
[ -f "$trx" ] || fail "dotnet test wrote no results" "$work/logs/test.log"
passed="$(grep -o 'outcome="Passed"' "$trx" | wc -l)"
for suite in DictionaryStoreConformanceTests DictionaryVersionedRecordStoreConformanceTests DictionaryAppendOnlyStreamStoreConformanceTests; do
  grep -q "className=\"Smoke.$suite\"" "$trx" || fail "no test of $suite ran: the package's suites were not discovered" "$work/logs/test.log"
done
echo "conformance-package-smoke: $passed tests of the packed suites passed against dictionary stores (packages $version)"
