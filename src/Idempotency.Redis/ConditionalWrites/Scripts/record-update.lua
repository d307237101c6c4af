-- Replaces a versioned record's value and increments its version, only if its version is the expected one.
-- One round trip, atomic: the check and the write cannot be separated by another client's command.
-- KEYS[1] the record (a hash: fmt = '1', version = decimal, value = bytes)
-- ARGV[1] the expected version (canonical decimal)   ARGV[2] the new value
-- Returns {0}                   no such record
--         {1, new version}      applied
--         {2, current version}  the version differs: nothing written
local rec = redis.call('HMGET', KEYS[1], 'fmt', 'version')
if not rec[1] then
  if redis.call('EXISTS', KEYS[1]) == 1 then
    return redis.error_reply('CONDITIONAL_FORMAT the key holds something other than a versioned record')
  end
  return {0}
end
if rec[1] ~= '1' then
  return redis.error_reply('CONDITIONAL_FORMAT record format ' .. tostring(rec[1]) .. ' is not supported by this version of Idempotency.Redis')
end
-- Both sides are canonical decimals, so comparing the text compares the numbers, exactly.
if rec[2] ~= ARGV[1] then
  return {2, tonumber(rec[2])}
end
redis.call('HSET', KEYS[1], 'value', ARGV[2])
return {1, redis.call('HINCRBY', KEYS[1], 'version', 1)}
