-- Creates a versioned record at version 1, only if the key is free. One round trip, atomic.
-- KEYS[1] the record (a hash: fmt = '1', version = decimal, value = bytes)
-- ARGV[1] the value
-- Returns {1, 1}                created
--         {2, current version}  a record exists: nothing written
local rec = redis.call('HMGET', KEYS[1], 'fmt', 'version')
if rec[1] then
  if rec[1] ~= '1' then
    return redis.error_reply('CONDITIONAL_FORMAT record format ' .. tostring(rec[1]) .. ' is not supported by this version of Idempotency.Redis')
  end
  return {2, tonumber(rec[2])}
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return redis.error_reply('CONDITIONAL_FORMAT the key holds something other than a versioned record')
end
redis.call('HSET', KEYS[1], 'fmt', '1', 'version', '1', 'value', ARGV[1])
return {1, 1}
