import type { Result } from 'ioredis';
import { BATCH_FINISHED_EVENT } from './events';

/** The Lua scripts behind the batch store (batch-store.ts): each keeps a batch's record, index entries and counters in step in one atomic step. */

// Records one file's final outcome and keeps the batch's counters in step, atomically and
// idempotently: a job that runs again after a crash overwrites its own outcome instead of
// counting twice. The call that finishes the batch announces it on the queue's event stream,
// where QueueEvents subscribers receive it like BullMQ's own events. A batch with a callback gets
// its webhook events pushed to the outbox (KEYS[3]) in this same step, so no crash can record an
// outcome without its webhook; each event's id (msg_<batchId>_<n>) is the webhook-id. The same
// step moves the batch's expiry in the index's expiry set (KEYS[4], see batch-index.ts) and stops
// counting the file against its holder's queued files (KEYS[5]); a finished batch leaves the
// holder's open batches (KEYS[5]:<holder>, see RECONCILE_QUEUED_FILES).
export const RECORD_OUTCOME = `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
local field = 'f:' .. ARGV[1]
local previous = redis.call('HGET', KEYS[1], field)
if previous then redis.call('HINCRBY', KEYS[1], cjson.decode(previous).state, -1) end
redis.call('HSET', KEYS[1], field, ARGV[3])
redis.call('HINCRBY', KEYS[1], ARGV[2], 1)
local holder = redis.call('HGET', KEYS[1], 'quotaHolder')
if holder and not previous and redis.call('HINCRBY', KEYS[5], holder, -1) <= 0 then redis.call('HDEL', KEYS[5], holder) end
local counts = redis.call('HMGET', KEYS[1], 'completed', 'failed', 'total')
local completed, failed, total = tonumber(counts[1] or 0), tonumber(counts[2] or 0), tonumber(counts[3])
if completed + failed == total then
  redis.call('EXPIRE', KEYS[1], ARGV[4])
  if holder then redis.call('ZREM', KEYS[5] .. ':' .. holder, ARGV[5]) end
  local clock = redis.call('TIME')
  redis.call('ZADD', KEYS[4], tonumber(clock[1]) * 1000 + tonumber(ARGV[4]) * 1000, (redis.call('HGET', KEYS[1], 'owner') or '') .. ' ' .. ARGV[5])
end
if not previous and completed + failed == total then
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[6], '*', 'event', '${BATCH_FINISHED_EVENT}',
    'batchId', ARGV[5], 'completed', completed, 'failed', failed, 'total', total)
end
local url = redis.call('HGET', KEYS[1], 'callbackUrl')
if url and not previous then
  local now = redis.call('TIME')
  local at = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
  local function notify(kind, extra)
    local entry = {id = 'msg_' .. ARGV[5] .. '_' .. redis.call('HINCRBY', KEYS[1], 'webhookSeq', 1), kind = kind, batchId = ARGV[5], url = url, at = at}
    for k, v in pairs(extra) do entry[k] = v end
    redis.call('RPUSH', KEYS[3], cjson.encode(entry))
  end
  if redis.call('HGET', KEYS[1], 'callbackEvents') == 'batch,file' then notify('file', {jobId = ARGV[1], outcome = ARGV[3]}) end
  if completed + failed == total then notify('batch', {}) end
end
return {completed, failed, total}
`;

// Creates a batch record, and its entries in the owner's index (KEYS[2]) and the index's expiry
// set (KEYS[3]), only if Redis runs this by ARGV[4], a time in Redis's own clock. With a quota
// holder (ARGV[12]) its files count against the holder's queued files (KEYS[4]) and it joins the
// holder's open batches (KEYS[4]:<holder>), and a batch that would take them over ARGV[13] is
// refused (-1 - queued): check and count in one step, so
// concurrent uploads from several API processes cannot both slip under the limit. A
// write whose reply timed out (the upload was refused) may still be run once a hung Redis
// resumes; by then its time has passed, so it leaves nothing.
export const CREATE_BATCH = `
local now = redis.call('TIME')
local nowMs = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
if nowMs > tonumber(ARGV[4]) then return 0 end
if ARGV[12] ~= '' then
  local queued = tonumber(redis.call('HGET', KEYS[4], ARGV[12]) or 0)
  if tonumber(ARGV[13]) > 0 and queued + tonumber(ARGV[2]) > tonumber(ARGV[13]) then return -1 - queued end
  redis.call('HINCRBY', KEYS[4], ARGV[12], ARGV[2])
  redis.call('HSET', KEYS[1], 'quotaHolder', ARGV[12])
  local open = KEYS[4] .. ':' .. ARGV[12]
  redis.call('ZADD', open, nowMs, ARGV[10])
  -- As long as its longest-lived batch: a holder who never comes back leaves nothing behind.
  if redis.call('TTL', open) < tonumber(ARGV[5]) then redis.call('EXPIRE', open, ARGV[5]) end
end
redis.call('HSET', KEYS[1], 'createdAt', ARGV[1], 'total', ARGV[2], 'files', ARGV[3])
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'callbackUrl', ARGV[6], 'callbackEvents', ARGV[7]) end
if ARGV[8] ~= '' then redis.call('HSET', KEYS[1], 'processAt', ARGV[8]) end
if ARGV[9] ~= '' then redis.call('HSET', KEYS[1], 'owner', ARGV[9]) end
redis.call('EXPIRE', KEYS[1], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[11], ARGV[10])
redis.call('ZADD', KEYS[3], nowMs + tonumber(ARGV[5]) * 1000, ARGV[9] .. ' ' .. ARGV[10])
return 1
`;

// Forgets a file's outcome so it can run again (a dead letter put back on the queue); the
// batch is unfinished again, so it gets the pending lifetime back, and the file counts against
// its holder's queued files again.
export const RESET_OUTCOME = `
local field = 'f:' .. ARGV[1]
local previous = redis.call('HGET', KEYS[1], field)
if not previous then return 0 end
redis.call('HINCRBY', KEYS[1], cjson.decode(previous).state, -1)
redis.call('HDEL', KEYS[1], field)
redis.call('EXPIRE', KEYS[1], ARGV[2])
local holder = redis.call('HGET', KEYS[1], 'quotaHolder')
local clock = redis.call('TIME')
if holder then
  redis.call('HINCRBY', KEYS[3], holder, 1)
  local open = KEYS[3] .. ':' .. holder
  -- Scored now: the job comes back just after this, and RECONCILE_QUEUED_FILES counts a batch this young by its record alone.
  redis.call('ZADD', open, tonumber(clock[1]) * 1000, ARGV[3])
  if redis.call('TTL', open) < tonumber(ARGV[2]) then redis.call('EXPIRE', open, ARGV[2]) end
end
redis.call('ZADD', KEYS[2], tonumber(clock[1]) * 1000 + tonumber(ARGV[2]) * 1000, (redis.call('HGET', KEYS[1], 'owner') or '') .. ' ' .. ARGV[3])
return 1
`;

// The inverse of CREATE_BATCH: the record, its entries in the owner's index (KEYS[2] is the
// keyless one; an owner's is KEYS[2]:<owner>, as batch-index.ts names it) and in the expiry set
// (KEYS[3]), and its unfinished files' places in its holder's queued files (KEYS[4]) and open
// batches, in one step, so no crash can leave a part that counts or lists a batch that is gone.
export const REMOVE_BATCH = `
local fields = redis.call('HMGET', KEYS[1], 'owner', 'quotaHolder', 'total', 'completed', 'failed')
local owner, holder = fields[1], fields[2]
if holder then
  local left = tonumber(fields[3] or 0) - tonumber(fields[4] or 0) - tonumber(fields[5] or 0)
  if redis.call('HINCRBY', KEYS[4], holder, -left) <= 0 then redis.call('HDEL', KEYS[4], holder) end
  redis.call('ZREM', KEYS[4] .. ':' .. holder, ARGV[1])
end
redis.call('ZREM', owner and (KEYS[2] .. ':' .. owner) or KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], (owner or '') .. ' ' .. ARGV[1])
return redis.call('DEL', KEYS[1])
`;

// Recounts one holder's (ARGV[1]) queued files (KEYS[1]) from what is stored, and sets the count
// to it: the files without an outcome, in the holder's open batches (KEYS[1]:<holder>) that still
// exist, whose job still exists (its hash ARGV[3]<jobId>) and is not in the completed set KEYS[2].
// That is, the files whose outcome is still to be recorded, each of which gives its place back
// then: a job that failed for good stays counted until its dead letter records the failure (the
// worker's listener, or the dead-letter reconciler if it died), as not counting it would give the
// place back twice. So a count left high by a batch that expired unfinished, a job removed before
// its outcome was recorded or a crash between two writes comes down. A batch younger than ARGV[4]
// ms counts by its record alone: its jobs may not be added yet. Atomic, so it cannot lose a count
// that a concurrent upload or outcome moves. Returns {before, after}.
export const RECONCILE_QUEUED_FILES = `
local open = KEYS[1] .. ':' .. ARGV[1]
local clock = redis.call('TIME')
local nowMs = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local queued = 0
local entries = redis.call('ZRANGE', open, 0, -1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local batchId, createdMs = entries[i], tonumber(entries[i + 1])
  local batch = ARGV[2] .. batchId
  local fields = redis.call('HMGET', batch, 'total', 'completed', 'failed', 'files')
  local left = fields[1] and tonumber(fields[1]) - tonumber(fields[2] or 0) - tonumber(fields[3] or 0) or 0
  if left <= 0 then
    redis.call('ZREM', open, batchId)
  elseif nowMs - createdMs < tonumber(ARGV[4]) then
    queued = queued + left
  else
    for _, file in ipairs(cjson.decode(fields[4])) do
      local id = file.jobId
      if redis.call('HEXISTS', batch, 'f:' .. id) == 0 and redis.call('EXISTS', ARGV[3] .. id) == 1
        and not redis.call('ZSCORE', KEYS[2], id) then
        queued = queued + 1
      end
    end
  end
end
local before = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or 0)
if queued ~= before then
  if queued > 0 then redis.call('HSET', KEYS[1], ARGV[1], queued) else redis.call('HDEL', KEYS[1], ARGV[1]) end
end
return {before, queued}
`;

// What a list of batches shows of each of KEYS, read in one step: per key an empty array when the
// record is gone, else {createdAt, processAt or '', total, completed, failed, the jobIds of the
// files without an outcome...}. The counters are the record's own.
export const READ_BATCH_SUMMARIES = `
local rows = {}
for i, key in ipairs(KEYS) do
  local f = redis.call('HMGET', key, 'createdAt', 'processAt', 'total', 'completed', 'failed', 'files')
  local row = {}
  if f[1] and f[6] then
    row = {f[1], f[2] or '', f[3] or '', f[4] or '0', f[5] or '0'}
    if (tonumber(f[4]) or 0) + (tonumber(f[5]) or 0) < (tonumber(f[3]) or 0) then
      for _, file in ipairs(cjson.decode(f[6])) do
        if redis.call('HEXISTS', key, 'f:' .. file.jobId) == 0 then row[#row + 1] = file.jobId end
      end
    end
  end
  rows[i] = row
end
return rows
`;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    imgflowRecordOutcome(
      batchKey: string,
      eventsKey: string,
      outboxKey: string,
      expiryKey: string,
      quotaKey: string,
      jobId: string,
      state: string,
      outcome: string,
      ttlSeconds: number,
      batchId: string,
      maxEvents: number,
    ): Result<[number, number, number] | null, Context>;
    imgflowResetOutcome(batchKey: string, expiryKey: string, quotaKey: string, jobId: string, ttlSeconds: number, batchId: string): Result<number, Context>;
    imgflowCreateBatch(
      batchKey: string, indexKey: string, expiryKey: string, quotaKey: string,
      createdAt: string, total: number, files: string, notAfterMs: number, ttlSeconds: number, callbackUrl: string, callbackEvents: string, processAt: string, owner: string, batchId: string, createdAtMs: number,
      quotaHolder: string, maxQueued: number,
    ): Result<number, Context>;
    imgflowReadBatchSummaries(numberOfKeys: number, ...batchKeys: string[]): Result<string[][], Context>;
    imgflowRemoveBatch(batchKey: string, keylessIndexKey: string, expiryKey: string, quotaKey: string, batchId: string): Result<number, Context>;
    imgflowReconcileQueuedFiles(quotaKey: string, completedKey: string, holder: string, batchKeyPrefix: string, jobKeyPrefix: string, graceMs: number): Result<[number, number], Context>;
  }
}
