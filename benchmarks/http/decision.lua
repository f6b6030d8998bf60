-- wrk script for benchmarks/test_bench_api_http.py: each request posts the same application with a fresh
-- Idempotency-Key, as a partner's client would; every answer is counted by status, and the application id of
-- each 2xx is kept, and so is how many keys each thread built, so the benchmark can match what the client sent
-- and received with what the server stored.
--
-- Arguments after the URL: the file holding the JSON body, and a label unique to this run (it starts every key).
-- Environment: BENCH_API_KEY, the partner's bearer key (kept off the command line).

local threads = {}

-- Runs in wrk's main state, once per thread, before the thread's own init(): numbers the threads so each
-- builds keys of its own (label-thread-counter: unique without relying on math.random, which can collide).
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  local file = assert(io.open(args[1], "rb"))
  wrk.body = file:read("*a")
  file:close()
  label = args[2]
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("BENCH_API_KEY"), "BENCH_API_KEY is not set")
  -- What the TLS-terminating proxy in front of gunicorn adds (production redirects plain HTTP to HTTPS).
  wrk.headers["X-Forwarded-Proto"] = "https"
  counter = 0
  statuses = {}
  decided = {}
  replayed = 0
end

function request()
  counter = counter + 1
  wrk.headers["Idempotency-Key"] = label .. "-" .. thread_number .. "-" .. counter
  return wrk.format()
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 200 and status < 300 then
    -- A fresh key is never replayed: a replay would mean two requests shared a key.
    if headers["Idempotent-Replayed"] then
      replayed = replayed + 1
    end
    local id = string.match(headers["Location"] or "", "/applications/(%d+)/")
    decided[#decided + 1] = id or "none"
  end
end

-- Runs in the main state after the run: one line of JSON, after the marker, for the benchmark to parse.
function done(summary, latency, requests)
  local by_status, ids, replays, made = {}, {}, 0, {}
  for number, thread in ipairs(threads) do
    made[#made + 1] = string.format('"%d": %d', number, thread:get("counter"))
    for status, count in pairs(thread:get("statuses")) do
      by_status[status] = (by_status[status] or 0) + count
    end
    for _, id in ipairs(thread:get("decided")) do
      ids[#ids + 1] = '"' .. id .. '"'
    end
    replays = replays + thread:get("replayed")
  end
  local statuses_json = {}
  for status, count in pairs(by_status) do
    statuses_json[#statuses_json + 1] = string.format('"%d": %d', status, count)
  end
  local errors = summary.errors
  io.write(string.format(
    'wrk-result {"requests": %d, "duration_us": %d, "statuses": {%s}, "replayed": %d, "keys_made": {%s}, '
      .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"latency_us": {"p50": %d, "p99": %d, "max": %d, "mean": %.1f}, "application_ids": [%s]}\n',
    summary.requests, summary.duration, table.concat(statuses_json, ", "), replays, table.concat(made, ", "),
    errors.connect, errors.read, errors.write, errors.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, latency.mean, table.concat(ids, ", ")
  ))
end
