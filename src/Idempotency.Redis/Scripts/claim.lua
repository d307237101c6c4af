-- Claims one idempotency record, atomically, in one round trip.
-- KEYS[1] the record (a hash)
-- ARGV[1] request fingerprint   ARGV[2] owner token   ARGV[3] lease (ms)   ARGV[4] grace after the lease (ms)
-- Returns {0, lease expiry ms}   claimed
--         {1, lease remaining ms} another owner holds a live lease
--         {2, payload}           completed
--         {3}                    held or completed for another fingerprint
-- Time is the server's (TIME), so every application instance judges leases by the same clock.
local key = KEYS[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rec = redis.call('HMGET', key, 'v', 'state', 'fp', 'lease')
if rec[1] then
  if rec[1] ~= '1' then
    return redis.error_reply('IDEMPOTENCY_FORMAT record format version ' .. tostring(rec[1]) .. ' is not supported by this version of Idempotency.Redis')
  end
  if rec[2] == 'completed' then
    if rec[3] ~= ARGV[1] then
      return {3}
    end
    return {2, redis.call('HGET', key, 'payload')}
  end
  local lease = tonumber(rec[4])
  if lease > now then
    if rec[3] ~= ARGV[1] then
      return {3}
    end
    return {1, lease - now}
  end
  -- The lease has ended: the key is free again, whoever held it and whatever its fingerprint.
  redis.call('DEL', key)
end
local expires = now + tonumber(ARGV[3])
redis.call('HSET', key, 'v', '1', 'state', 'claimed', 'owner', ARGV[2], 'fp', ARGV[1], 'lease', expires)
redis.call('PEXPIRE', key, tonumber(ARGV[3]) + tonumber(ARGV[4]))
return {0, expires}
