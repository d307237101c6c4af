#!/usr/bin/env bash
# Proves that the Idempotency.Stores.Conformance package works as a store author outside this repository uses it:
# packs Idempotency.Core and Idempotency.Stores.Conformance into a local folder, creates a throwaway xunit project in
# a temporary directory (outside the solution, no project references, none of the repository's build files), whose
# small dictionary stores inherit the three suites, and runs `dotnet test` there. Every test must pass.
#
#   scripts/conformance-package-smoke.sh            # prints one line on success; the build logs on failure
#   KEEP_SMOKE_DIR=1 scripts/conformance-package-smoke.sh   # keeps the temporary directory to look at
#
# Each run packs a version of its own (0.0.0-smoke.<time>.<pid>) and restores into a packages folder of its own,
# reading every other package from the global packages folder, so a stale cached package is never used and the
# global cache never fills with smoke versions.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# No build server or node may outlive the script: a caller that reads its output would wait for them.
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER=1 UseSharedCompilation=false
# A caller that is itself a dotnet process (a test host) must not hand its MSBuild over to these builds.
unset MSBuildExtensionsPath MSBuildSDKsPath MSBUILD_EXE_PATH MSBuildLoadMicrosoftTargetsReadOnly 2>/dev/null || true

work="$(mktemp -d "${TMPDIR:-/tmp}/conformance-smoke.XXXXXX")"
if [ "${KEEP_SMOKE_DIR:-0}" = "1" ]; then
  echo "conformance-package-smoke: working in $work"
else
  trap 'rm -rf "$work"' EXIT
fi

version="0.0.0-smoke.$(date +%s).$$"
feed="$work/feed"
mkdir -p "$feed" "$work/packages" "$work/logs" "$work/smoke"

fail() {
  echo "conformance-package-smoke: FAILED: $1" >&2
  if [ -n "${2:-}" ] && [ -f "$2" ]; then
    grep -E "error|Failed|failed|\[FAIL\]|Assert" "$2" | sort -u | head -n 60 >&2 || true
    echo "--- last lines of $2 (KEEP_SMOKE_DIR=1 keeps it):" >&2
    tail -n 40 "$2" >&2
  fi
  exit 1
}

# Versions of the test packages: the ones the repository's own test projects use.
package_version() {
  sed -n "s/.*<PackageVersion Include=\"$1\" Version=\"\([^\"]*\)\".*/\1/p" "$repo/Directory.Packages.props" | head -n 1
}
test_sdk="$(package_version Microsoft.NET.Test.Sdk)"
xunit="$(package_version xunit)"
xunit_runner="$(package_version xunit.runner.visualstudio)"
fake_time="$(package_version Microsoft.Extensions.TimeProvider.Testing)"
[ -n "$test_sdk" ] && [ -n "$xunit" ] && [ -n "$xunit_runner" ] && [ -n "$fake_time" ] \
  || fail "could not read the test package versions from Directory.Packages.props"

# Build as the solution does (nothing to do when it is up to date), then pack those very assemblies under the smoke
# version. Packing without building leaves the repository's bin/ and obj/ as they are; the nuspecs go to $work.
dotnet build "$repo/src/Idempotency.Stores.Conformance/Idempotency.Stores.Conformance.csproj" -c Release --disable-build-servers \
  >"$work/logs/build.log" 2>&1 \
  || fail "dotnet build of Idempotency.Stores.Conformance did not succeed" "$work/logs/build.log"
for project in Idempotency.Core Idempotency.Stores.Conformance; do
  dotnet pack "$repo/src/$project/$project.csproj" -c Release --no-build -o "$feed" --disable-build-servers \
    -p:Version="$version" -p:NuspecOutputPath="$work/nuspec/" -p:IncludeSymbols=false \
    >"$work/logs/pack-$project.log" 2>&1 \
    || fail "dotnet pack of $project did not succeed" "$work/logs/pack-$project.log"
  [ -f "$feed/$project.$version.nupkg" ] || fail "dotnet pack did not produce $project.$version.nupkg" "$work/logs/pack-$project.log"
done

# The throwaway project. Empty build files stop MSBuild from looking further up for others; global.json picks the
# repository's SDK; NuGet.config is the repository's (the registry it uses) plus the local folder.
cd "$work/smoke"
echo '<Project />' > Directory.Build.props
echo '<Project />' > Directory.Build.targets
echo '<Project />' > Directory.Packages.props
cp "$repo/global.json" global.json
cp "$repo/NuGet.config" NuGet.config
dotnet nuget add source "$feed" --name conformance-smoke --configfile NuGet.config >/dev/null

cat > Smoke.Tests.csproj <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
    <IsPackable>false</IsPackable>
    <!-- Read every package already on this machine from the global packages folder; write only our own. -->
    <RestoreFallbackFolders>$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')</RestoreFallbackFolders>
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
