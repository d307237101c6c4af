-- Appends an entry to an append-only stream, only if its last entry is the expected one. One round trip, atomic.
-- KEYS[1] the stream (a list: element i holds the payload of entry i + 1, so the length is the last sequence number)
-- ARGV[1] the expected last sequence number   ARGV[2] the payload
-- Returns {1, new sequence}   appended
--         {2, last sequence}  the last entry differs: nothing appended
local last = redis.call('LLEN', KEYS[1])
if last ~= tonumber(ARGV[1]) then
  return {2, last}
end
return {1, redis.call('RPUSH', KEYS[1], ARGV[2])}
