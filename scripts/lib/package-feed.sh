# Sourced by the smoke scripts that use the packages as a user outside this repository does (scripts/package-smoke.sh,
# scripts/conformance-package-smoke.sh): packs projects into a local folder under a version of the run's own, and
# prepares directories that build against that folder and nothing of the repository's.
#
#   source "$repo/scripts/lib/package-feed.sh"
#   feed_init <name>                       # $work (removed on exit unless KEEP_SMOKE_DIR=1), $version, $feed, fail()
#   feed_pack <project>...                 # builds each src/<project> as the solution does, then packs it into $feed
#   feed_isolate <directory>               # empty build files, the repository's SDK and registry plus $feed
#   feed_package_version <package id>      # the version Directory.Packages.props gives a package
#
# Each run packs a version of its own (0.0.0-smoke.<time>.<pid>) and restores into a packages folder of its own,
# reading every other package from the global packages folder ($global_packages, for RestoreFallbackFolders), so a
# stale cached package is never used and the global cache never fills with smoke versions. A script that starts
# processes defines feed_on_exit(), which runs before $work is removed.

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
# No build server or node may outlive the script: a caller that reads its output would wait for them.
export MSBUILDDISABLENODEREUSE=1 DOTNET_CLI_DO_NOT_USE_MSBUILD_SERVER=1 UseSharedCompilation=false
# A caller that is itself a dotnet process (a test host) must not hand its MSBuild over to these builds.
unset MSBuildExtensionsPath MSBuildSDKsPath MSBUILD_EXE_PATH MSBuildLoadMicrosoftTargetsReadOnly 2>/dev/null || true

feed_init() {
  feed_name=$1
  work="$(mktemp -d "${TMPDIR:-/tmp}/$feed_name.XXXXXX")"
  trap feed_exit EXIT
  [ "${KEEP_SMOKE_DIR:-0}" = "1" ] && echo "$feed_name: working in $work"
  version="0.0.0-smoke.$(date +%s).$$"
  feed="$work/feed"
  mkdir -p "$feed" "$work/packages" "$work/logs"
  global_packages="$(dotnet nuget locals global-packages --list | sed -n 's/^global-packages: //p')"
}

feed_exit() {
  if declare -F feed_on_exit >/dev/null; then feed_on_exit || true; fi
  if [ "${KEEP_SMOKE_DIR:-0}" != "1" ]; then rm -rf "$work"; fi
}

# fail <what went wrong> [log]: prints the log's error lines and its tail, then exits 1.
fail() {
  echo "$feed_name: FAILED: $1" >&2
  if [ -n "${2:-}" ] && [ -f "$2" ]; then
    grep -E "error|Failed|failed|FAIL|Assert" "$2" | sort -u | head -n 60 >&2 || true
    echo "--- last lines of $2 (KEEP_SMOKE_DIR=1 keeps it):" >&2
    tail -n 40 "$2" >&2
  fi
  exit 1
}

# Build as the solution does (nothing to do when it is up to date), then pack those very assemblies under the smoke
# version. Packing without building leaves the repository's bin/ and obj/ as they are; the nuspecs go to $work.
feed_pack() {
  local project
  for project in "$@"; do
    dotnet build "$repo/src/$project/$project.csproj" -c Release --disable-build-servers >"$work/logs/build-$project.log" 2>&1 \
      || fail "dotnet build of $project did not succeed" "$work/logs/build-$project.log"
    dotnet pack "$repo/src/$project/$project.csproj" -c Release --no-build --no-restore -o "$feed" --disable-build-servers \
      -p:Version="$version" -p:NuspecOutputPath="$work/nuspec/$project/" -p:IncludeSymbols=false \
      >"$work/logs/pack-$project.log" 2>&1 \
      || fail "dotnet pack of $project did not succeed" "$work/logs/pack-$project.log"
    [ -f "$feed/$project.$version.nupkg" ] || fail "dotnet pack did not produce $project.$version.nupkg" "$work/logs/pack-$project.log"
  done
}

# Empty build files stop MSBuild from looking further up for others; global.json picks the repository's SDK;
# NuGet.config is the repository's (the registry it uses) plus the local folder.
feed_isolate() {
  mkdir -p "$1"
  echo '<Project />' > "$1/Directory.Build.props"
  echo '<Project />' > "$1/Directory.Build.targets"
  echo '<Project />' > "$1/Directory.Packages.props"
  cp "$repo/global.json" "$1/global.json"
  cp "$repo/NuGet.config" "$1/NuGet.config"
  dotnet nuget add source "$feed" --name "$feed_name" --configfile "$1/NuGet.config" >/dev/null
}

feed_package_version() {
  sed -n "s/.*<PackageVersion Include=\"$1\" Version=\"\([^\"]*\)\".*/\1/p" "$repo/Directory.Packages.props" | head -n 1
}
