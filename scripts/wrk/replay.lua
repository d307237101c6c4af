-- POST with one fixed Idempotency-Key: after the first, every request is a replay of the stored response.
request = function()
  return wrk.format("POST", wrk.path, {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "\"benchmark-replay-key\"",
  }, "{\"amount\":10000}")
end
