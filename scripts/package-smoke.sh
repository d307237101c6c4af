#!/usr/bin/env bash
# Proves that the packed packages work as a user outside this repository uses them, and that each brings only the
# dependencies it promises. Packs Idempotency.Core, Idempotency.Redis and Idempotency.AspNetCore into a local folder,
# then builds two throwaway apps in a temporary directory (outside the solution, no project references, none of the
# repository's build files):
#
#   1. a console app referencing only the packed Idempotency.Core and Idempotency.Redis: a host-less ServiceCollection,
#      AddIdempotentExecutor().AddRedisStore(<address>), one operation run twice with one key (it runs once, the second
#      call replays it, and so does a second service provider, as another instance would: the record is in Redis) and
#      once more with that key and another payload (refused with IdempotencyKeyReusedException). Its dependency graph
#      (project.assets.json) must hold no Microsoft.AspNetCore.* package and no Microsoft.AspNetCore.App framework.
#   2. a web app referencing only the packed Idempotency.AspNetCore: a minimal API with AddIdempotency(),
#      UseIdempotency() and one POST endpoint .RequireIdempotency(), started on a free loopback port; a keyed request
#      posted twice must come back the second time with the same status and body and `Idempotent-Replayed: true`.
#      Its graph must hold no Microsoft.AspNetCore.OpenApi and no Microsoft.OpenApi package.
#
#   scripts/package-smoke.sh --redis 127.0.0.1:6379        # prints one line per app on success; the logs on failure
#   KEEP_SMOKE_DIR=1 scripts/package-smoke.sh --redis ...   # keeps the temporary directory to look at
#
# The script starts no Redis: it needs the address of a running redis-server (tests/Idempotency.Packages.Tests starts
# one on a free port and passes it). How the packages are packed and restored: scripts/lib/package-feed.sh.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"

redis=""
while [ $# -gt 0 ]; do
  case "$1" in
    --redis) redis="${2:-}"; shift 2 || true ;;
    *) echo "usage: scripts/package-smoke.sh --redis <host:port>" >&2; exit 2 ;;
  esac
done
[ -n "$redis" ] || { echo "usage: scripts/package-smoke.sh --redis <host:port> (the address of a running redis-server)" >&2; exit 2; }

# The caller's environment must not reach the web app (ASPNETCORE_URLS and the like would override --urls).
unset ASPNETCORE_URLS ASPNETCORE_HTTP_PORTS ASPNETCORE_HTTPS_PORTS DOTNET_URLS ASPNETCORE_ENVIRONMENT DOTNET_ENVIRONMENT 2>/dev/null || true

source "$repo/scripts/lib/package-feed.sh"
web_pid=""
feed_on_exit() {
  if [ -n "$web_pid" ] && kill -0 "$web_pid" 2>/dev/null; then
    kill "$web_pid" 2>/dev/null || true
    wait "$web_pid" 2>/dev/null || true
  fi
}
feed_init package-smoke
mkdir -p "$work/console" "$work/web"
feed_pack Idempotency.Core Idempotency.Redis Idempotency.AspNetCore

# Both apps live under $work, which builds against the packed packages and nothing of the repository's.
feed_isolate "$work"
# The version of Microsoft.Extensions.* the packages are built against (Directory.Packages.props).
di_version="$(sed -n 's/.*<MicrosoftExtensionsVersion>\([^<]*\)<.*/\1/p' "$repo/Directory.Packages.props" | head -n 1)"
[ -n "$di_version" ] || fail "could not read MicrosoftExtensionsVersion from Directory.Packages.props"

# The names of the packages and of the shared frameworks in a restored project's graph, one a line: "package <id>"
# (every "<id>/<version>" entry of project.assets.json's targets and libraries) and "framework <name>" (the project's
# own frameworkReferences and those its packages ask for, as Idempotency.AspNetCore asks for Microsoft.AspNetCore.App).
# Read with grep and sed, so that the script needs nothing more than bash, curl and the .NET SDK.
graph() {
  grep -oE '^ *"[A-Za-z0-9_.-]+/[0-9][^"]*": \{' "$1" | sed -E 's/^ *"([^/]+)\/.*/package \1/'
  grep -oE '"Microsoft\.[A-Za-z]+\.App"' "$1" | tr -d '"' | sed 's/^/framework /'
}
graph_sorted() { graph "$1" | sort -u; }

command -v curl >/dev/null || fail "curl is needed to post to the web app: install it (apt-get install curl)"

# ---- 1. The console app: Core and Redis, no ASP.NET Core ----------------------------------------------------------
cd "$work/console"
cat > Smoke.Console.csproj <<EOF
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
    <IsPackable>false</IsPackable>
    <!-- Read every package already on this machine from the global packages folder; write only our own. -->
    <RestoreFallbackFolders>$global_packages</RestoreFallbackFolders>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Idempotency.Core" Version="$version" />
    <PackageReference Include="Idempotency.Redis" Version="$version" />
    <!-- The container itself (ServiceCollection.BuildServiceProvider): the packages bring only its abstractions. -->
    <PackageReference Include="Microsoft.Extensions.DependencyInjection" Version="$di_version" />
  </ItemGroup>
</Project>
EOF

cat > Program.cs <<'EOF'
using System.Text;
using System.Text.Json.Serialization;
using Idempotency;
using Microsoft.Extensions.DependencyInjection;
using Smoke;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Smoke.Console <redis host:port>");
    return 2;
}

// What a worker without a host does: a ServiceCollection of its own, the executor, the Redis store.
ServiceProvider Services()
{
    var services = new ServiceCollection();
    services.AddIdempotentExecutor().AddRedisStore(args[0]);
    return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
}

var key = $"package-smoke-{Guid.NewGuid():N}";
var runs = 0;
ValueTask<Receipt> Charge(CancellationToken cancellationToken)
{
    Interlocked.Increment(ref runs);
    return ValueTask.FromResult(new Receipt(Guid.NewGuid(), 42));
}

IdempotentOperation Operation(string payload) => new(key, Encoding.UTF8.GetBytes(payload), scope: "payments");

var failures = new List<string>();
await using (var provider = Services())
{
    var executor = provider.GetRequiredService<IdempotentExecutor>();
    var first = await executor.ExecuteAsync(Operation("amount=42"), Charge, SmokeJson.Default.Receipt);
    var second = await executor.ExecuteAsync(Operation("amount=42"), Charge, SmokeJson.Default.Receipt);
    Console.WriteLine($"first: replay={first.IsReplay} receipt={first.Value.Id}; second: replay={second.IsReplay} receipt={second.Value.Id}");
    if (first.IsReplay) failures.Add("the first call was a replay");
    if (!second.IsReplay) failures.Add("the second call with the same key was not a replay");
    if (second.Value != first.Value) failures.Add("the replay did not return the first call's result");

    // A second instance (a provider, a connection, an engine of its own) finds the record in Redis.
    await using (var other = Services())
    {
        var third = await other.GetRequiredService<IdempotentExecutor>().ExecuteAsync(Operation("amount=42"), Charge, SmokeJson.Default.Receipt);
        Console.WriteLine($"another instance: replay={third.IsReplay} receipt={third.Value.Id}");
        if (!third.IsReplay || third.Value != first.Value) failures.Add("another instance did not replay the record from Redis");
    }

    try
    {
        await executor.ExecuteAsync(Operation("amount=99"), Charge, SmokeJson.Default.Receipt);
        failures.Add("the same key with another payload was not refused");
    }
    catch (IdempotencyKeyReusedException ex)
    {
        Console.WriteLine($"reuse with another payload: refused ({ex.GetType().Name})");
    }
}

Console.WriteLine($"operation ran {runs} time(s)");
if (runs != 1) failures.Add($"the operation ran {runs} times, not once");
foreach (var failure in failures)
{
    Console.Error.WriteLine($"FAIL: {failure}");
}

if (failures.Count > 0)
{
    return 1;
}

Console.WriteLine("console smoke: ran once, replayed twice (one from another instance), reuse refused");
return 0;

namespace Smoke
{
    internal sealed record Receipt(Guid Id, int Amount);

    [JsonSerializable(typeof(Receipt))]
    internal sealed partial class SmokeJson : JsonSerializerContext;
}
EOF

dotnet restore --packages "$work/packages" >"$work/logs/console-restore.log" 2>&1 \
  || fail "the console app could not restore the packed packages from $feed" "$work/logs/console-restore.log"
graph_sorted obj/project.assets.json > "$work/logs/console-graph.txt"
grep -qx "package Idempotency.Redis" "$work/logs/console-graph.txt" || fail "the console app's graph does not hold Idempotency.Redis" "$work/logs/console-graph.txt"
grep -qx "package StackExchange.Redis" "$work/logs/console-graph.txt" || fail "the console app's graph does not hold StackExchange.Redis" "$work/logs/console-graph.txt"
if grep -E "^package Microsoft\.AspNetCore|^framework Microsoft\.AspNetCore" "$work/logs/console-graph.txt" >"$work/logs/console-aspnetcore.txt"; then
  fail "the console app (Core and Redis only) has ASP.NET Core in its dependency graph: $(tr '\n' ';' <"$work/logs/console-aspnetcore.txt")" "$work/logs/console-graph.txt"
fi
dotnet build --no-restore --disable-build-servers -c Release >"$work/logs/console-build.log" 2>&1 \
  || fail "the console app did not build against the packed packages" "$work/logs/console-build.log"
dotnet bin/Release/net10.0/Smoke.Console.dll "$redis" >"$work/logs/console-run.log" 2>&1 \
  || fail "the console app failed against Redis at $redis" "$work/logs/console-run.log"
grep -q "^console smoke: " "$work/logs/console-run.log" || fail "the console app did not report success" "$work/logs/console-run.log"
echo "package-smoke: $(grep '^console smoke: ' "$work/logs/console-run.log") against Redis at $redis; no ASP.NET Core in its graph of $(grep -c '^package ' "$work/logs/console-graph.txt") packages (packages $version)"

# ---- 2. The web app: AspNetCore, no OpenAPI --------------------------------------------------------------------------
cd "$work/web"
cat > Smoke.Web.csproj <<EOF
<Project Sdk="Microsoft.NET.Sdk.Web">
  <PropertyGroup>
    <TargetFramework>net10.0</TargetFramework>
    <Nullable>enable</Nullable>
    <ImplicitUsings>enable</ImplicitUsings>
    <TreatWarningsAsErrors>true</TreatWarningsAsErrors>
    <IsPackable>false</IsPackable>
    <RestoreFallbackFolders>$global_packages</RestoreFallbackFolders>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="Idempotency.AspNetCore" Version="$version" />
  </ItemGroup>
</Project>
EOF

cat > Program.cs <<'EOF'
var builder = WebApplication.CreateBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Services.AddIdempotency();

var app = builder.Build();
app.UseIdempotency();

var orders = 0;
app.MapPost("/orders", () => Results.Text($"order {Interlocked.Increment(ref orders)} {Guid.NewGuid():N}", "text/plain", statusCode: 201))
    .RequireIdempotency();

// Started on the port the OS chose (--urls http://127.0.0.1:0); the script reads it from this line.
await app.StartAsync();
Console.WriteLine($"listening on {app.Urls.First()}");
await app.WaitForShutdownAsync();
EOF

dotnet restore --packages "$work/packages" >"$work/logs/web-restore.log" 2>&1 \
  || fail "the web app could not restore the packed packages from $feed" "$work/logs/web-restore.log"
graph_sorted obj/project.assets.json > "$work/logs/web-graph.txt"
grep -qx "package Idempotency.AspNetCore" "$work/logs/web-graph.txt" || fail "the web app's graph does not hold Idempotency.AspNetCore" "$work/logs/web-graph.txt"
# The graph is read right: the web app and Idempotency.AspNetCore ask for the ASP.NET Core framework, so it shows.
grep -qx "framework Microsoft.AspNetCore.App" "$work/logs/web-graph.txt" || fail "the web app's graph shows no Microsoft.AspNetCore.App framework: the graph is not read right" "$work/logs/web-graph.txt"
if grep -E "^package (Microsoft\.AspNetCore\.OpenApi|Microsoft\.OpenApi)$" "$work/logs/web-graph.txt" >"$work/logs/web-openapi.txt"; then
  fail "the web app (Idempotency.AspNetCore only) has OpenAPI packages in its dependency graph: $(tr '\n' ';' <"$work/logs/web-openapi.txt")" "$work/logs/web-graph.txt"
fi
dotnet build --no-restore --disable-build-servers -c Release >"$work/logs/web-build.log" 2>&1 \
  || fail "the web app did not build against the packed package" "$work/logs/web-build.log"

dotnet bin/Release/net10.0/Smoke.Web.dll --urls "http://127.0.0.1:0" >"$work/logs/web-run.log" 2>&1 &
web_pid=$!
url=""
for _ in $(seq 1 300); do
  url="$(sed -n 's/^listening on \(http:[^ ]*\)$/\1/p' "$work/logs/web-run.log" | head -n 1)"
  [ -n "$url" ] && break
  kill -0 "$web_pid" 2>/dev/null || fail "the web app exited before listening" "$work/logs/web-run.log"
  sleep 0.1
done
[ -n "$url" ] || fail "the web app did not start listening within 30 seconds" "$work/logs/web-run.log"

post() {
  curl -sS --max-time 20 -o "$work/logs/web-body-$1.txt" -D "$work/logs/web-headers-$1.txt" -w '%{http_code}' \
    -X POST "$url/orders" -H "Idempotency-Key: package-smoke-$version" -H 'Content-Type: application/json' \
    --data '{"amount":42}' 2>>"$work/logs/web-run.log"
}
status1="$(post 1)" || fail "the first POST to $url/orders failed" "$work/logs/web-run.log"
status2="$(post 2)" || fail "the second POST to $url/orders failed" "$work/logs/web-run.log"
[ "$status1" = "201" ] || fail "the first POST answered $status1, not 201" "$work/logs/web-headers-1.txt"
[ "$status2" = "201" ] || fail "the replayed POST answered $status2, not 201" "$work/logs/web-headers-2.txt"
grep -qi '^Idempotent-Replayed:' "$work/logs/web-headers-1.txt" && fail "the first POST was marked as a replay" "$work/logs/web-headers-1.txt"
grep -qiE '^Idempotent-Replayed: *true' "$work/logs/web-headers-2.txt" \
  || fail "the second POST with the same key has no 'Idempotent-Replayed: true'" "$work/logs/web-headers-2.txt"
cmp -s "$work/logs/web-body-1.txt" "$work/logs/web-body-2.txt" \
  || fail "the replay's body '$(cat "$work/logs/web-body-2.txt")' is not the first response's '$(cat "$work/logs/web-body-1.txt")'" "$work/logs/web-run.log"
grep -q '^order 1 ' "$work/logs/web-body-1.txt" || fail "the first response is not the first order: '$(cat "$work/logs/web-body-1.txt")'" "$work/logs/web-run.log"

kill "$web_pid"
wait "$web_pid" 2>/dev/null || true
web_pid=""
echo "package-smoke: web smoke: the keyed POST ran once and was replayed (same body, Idempotent-Replayed: true) at $url; no OpenAPI package in its graph of $(grep -c '^package ' "$work/logs/web-graph.txt") packages (packages $version)"
