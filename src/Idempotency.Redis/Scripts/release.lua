-- Deletes an in-flight claim, only for its owner, in one round trip. A completed record is never released.
-- KEYS[1] the record   ARGV[1] owner token
-- Returns 1 when released, 0 when the caller no longer owns an in-flight claim.
local key = KEYS[1]
local rec = redis.call('HMGET', key, 'v', 'state', 'owner')
if not rec[1] then
  return 0
end
if rec[1] ~= '1' then
  return redis.error_reply('IDEMPOTENCY_FORMAT record format version ' .. tostring(rec[1]) .. ' is not supported by this version of Idempotency.Redis')
end
if rec[2] ~= 'claimed' or rec[3] ~= ARGV[1] then
  return 0
end
redis.call('DEL', key)
return 1
