-- post.lua: wrk script POSTing a ~1 KB event with a unique id per
-- request (so dedupe never short-circuits), token from the environment.
local counter = 0
local thread_id = 0
local pad = string.rep("x", 800)

function setup(thread)
  thread_id = thread_id + 1
  thread:set("tid", thread_id)
end

function init(args)
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["x-auth-token"] = os.getenv("BENCH_TOKEN") or "wrong"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"id":"bench-%d-%d-%d","event":"bench.event","data":{"pad":"%s"}}',
    tid or 0, os.time(), counter, pad)
  return wrk.format(nil, nil, nil, body)
end

function done(summary, latency, requests)
  io.write(string.format("RESULT req=%d errors=%d p50_us=%d p99_us=%d non2xx=%d\n",
    summary.requests, summary.errors.connect + summary.errors.read +
    summary.errors.write + summary.errors.timeout + summary.errors.status,
    latency:percentile(50), latency:percentile(99), summary.errors.status))
end
