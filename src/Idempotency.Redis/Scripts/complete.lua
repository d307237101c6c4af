-- Stores the outcome of a claim, only for its owner, in one round trip.
-- KEYS[1] the record   ARGV[1] owner token   ARGV[2] payload   ARGV[3] retention (ms)
-- Returns 1 when stored (or already stored by this same completion), 0 when the caller no longer owns an in-flight claim,
-- 2 when there is no record at all: expired, released, or never on this node (a primary that restarted empty during a
-- fail-over; with replica acknowledgement the store then asks the node the claim was replicated to).
-- An owner whose lease has ended may still complete while nobody else has claimed the key (the record lives
-- for the grace period after its lease): the work has run, and recording it beats letting a retry run it again.
-- The store sends a completion again when the answer to the first was lost (a connection dropped in a fail-over): if
-- the first one ran, the record holds its payload, byte for byte (the payload carries its completion time), and the
-- second one answers 1 with a write of its own (the retention again), so that a WAIT behind it also covers the first.
local key = KEYS[1]
local rec = redis.call('HMGET', key, 'v', 'state', 'owner')
if not rec[1] then
  return 2
end
if rec[1] ~= '1' then
  return redis.error_reply('IDEMPOTENCY_FORMAT record format version ' .. tostring(rec[1]) .. ' is not supported by this version of Idempotency.Redis')
end
if rec[2] == 'completed' then
  if redis.call('HGET', key, 'payload') ~= ARGV[2] then
    return 0
  end
  redis.call('PEXPIRE', key, ARGV[3])
  return 1
end
if rec[2] ~= 'claimed' or rec[3] ~= ARGV[1] then
  return 0
end
redis.call('HSET', key, 'state', 'completed', 'payload', ARGV[2])
redis.call('HDEL', key, 'owner', 'lease')
redis.call('PEXPIRE', key, ARGV[3])
return 1
