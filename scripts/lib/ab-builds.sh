# Sourced by the A/B benchmark scripts (scripts/benchmark-ab.sh, scripts/benchmark-redis-ab.sh): a temporary
# directory, a worktree of the base ref in it, and the benchmark project built from both.
#
#   source scripts/lib/ab-builds.sh
#   ab_builds <base-ref>    # sets WORK, A_BIN (the base ref's benchmark dll) and B_BIN (the working tree's)
#
# A caller that defines ab_prepare_base gets it called with the base worktree's path before the base is built (to
# give an older benchmark server an option the comparison needs).
#
# On exit it stops every process whose PID is in $WORK/*.pid, removes the worktree and the directory.

ab_cleanup() {
  for f in "$WORK"/*.pid; do [ -e "$f" ] && kill "$(cat "$f")" 2>/dev/null || true; done
  wait 2>/dev/null || true
  git worktree remove --force "$WORK/base" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}

ab_builds() { # base-ref
  WORK=$(mktemp -d)
  git worktree add -q --detach "$WORK/base" "$1"
  trap ab_cleanup EXIT
  if declare -F ab_prepare_base >/dev/null; then ab_prepare_base "$WORK/base"; fi
  dotnet build "$WORK/base/tests/Idempotency.Benchmarks" -c Release -nologo -v q >/dev/null
  dotnet build tests/Idempotency.Benchmarks -c Release -nologo -v q >/dev/null
  A_BIN=$WORK/base/tests/Idempotency.Benchmarks/bin/Release/net10.0/Idempotency.Benchmarks.dll
  B_BIN=tests/Idempotency.Benchmarks/bin/Release/net10.0/Idempotency.Benchmarks.dll
}
