# Sourced by the end-to-end benchmark scripts: the one key that scripts/wrk/replay.lua sends, so its runs measure
# replays of a stored outcome.
#
#   source scripts/lib/replay-key.sh
#   store_replay_key http://127.0.0.1:<port>   # runs the benchmark server's POST /keyed once under that key

store_replay_key() { # origin of a benchmark server
  curl -fs -X POST "$1/keyed" -H 'Content-Type: application/json' -H 'Idempotency-Key: "benchmark-replay-key"' -d '{"amount":10000}' >/dev/null
}
