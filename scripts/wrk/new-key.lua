-- POST with a new Idempotency-Key per request: every request claims, runs and completes a key.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("id", threads)
end

local counter = 0
local prefix = nil

request = function()
  if prefix == nil then
    prefix = string.format("%d-%d-%d", os.time(), id or 0, math.random(1, 1000000000))
  end
  counter = counter + 1
  return wrk.format("POST", wrk.path, {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("\"%s-%d\"", prefix, counter),
  }, "{\"amount\":10000}")
end
