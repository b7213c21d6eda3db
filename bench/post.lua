-- post.lua: wrk script POSTing a ~1 KB JSON event with a unique id per
-- request (so dedupe never short-circuits), token from the environment.
-- Ids are unique across threads (thread number) and across wrk runs
-- (BENCH_NONCE; without it the start time in seconds).
--   BENCH_TOKEN   value of the x-auth-token header (default "wrong")
--   BENCH_NONCE   a string unique to this wrk run
--   BENCH_EXPECT  the status that counts as success: "2xx" (default) or
--                 a code such as 401 (for a wrong-token run)
-- done() prints one line:
--   RESULT req=N errors=N p50_us=N p99_us=N non2xx=N ok=N bad=N
--          sockerr=N dur_us=N statuses=200:N,401:N
-- errors = bad + sockerr, where bad counts answers other than BENCH_EXPECT.
local counter = 0
local thread_id = 0
local threads = {}
local pad = string.rep("x", 910)
local nonce = os.getenv("BENCH_NONCE") or tostring(os.time())

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["x-auth-token"] = os.getenv("BENCH_TOKEN") or "wrong"
  statuses = {}
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"id":"bench-%s-%d-%d","event":"bench.event","data":{"pad":"%s"}}',
    nonce, tid or 0, counter, pad)
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local expect = os.getenv("BENCH_EXPECT") or "2xx"
  local all = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses") or {}
    for code, n in pairs(s) do
      all[code] = (all[code] or 0) + n
    end
  end
  local ok, bad, non2xx, codes = 0, 0, 0, {}
  for code, n in pairs(all) do
    local good
    if expect == "2xx" then
      good = code >= 200 and code < 300
    else
      good = code == tonumber(expect)
    end
    if good then ok = ok + n else bad = bad + n end
    if code < 200 or code >= 300 then non2xx = non2xx + n end
    table.insert(codes, code)
  end
  table.sort(codes)
  local list = {}
  for _, code in ipairs(codes) do
    table.insert(list, string.format("%d:%d", code, all[code]))
  end
  local e = summary.errors
  local sockerr = e.connect + e.read + e.write + e.timeout
  io.write(string.format("RESULT req=%d errors=%d p50_us=%d p99_us=%d " ..
    "non2xx=%d ok=%d bad=%d sockerr=%d dur_us=%d statuses=%s\n",
    summary.requests, bad + sockerr, latency:percentile(50),
    latency:percentile(99), non2xx, ok, bad, sockerr, summary.duration,
    #list > 0 and table.concat(list, ",") or "none"))
end
