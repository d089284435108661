-- wrk script shared by all HTTP scenarios of bench/run.sh.
--
-- Environment (read once per thread):
--   BENCH_METHOD  GET (default) or POST
--   BENCH_BODY    request body (POST), sent as application/x-www-form-urlencoded
--   BENCH_AUTH    value of the Authorization header, e.g. "Basic ..." (optional)
--   BENCH_OUT     file to which done() writes one line of key=value results (optional)
--
-- done() reports requests, duration, rate, latency percentiles (microseconds) and
-- error counts; wrk itself counts non-2xx/3xx responses in summary.errors.status.

local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local auth = os.getenv("BENCH_AUTH")

wrk.method = method
wrk.headers["Accept"] = "application/json"
if body and body ~= "" then
  wrk.body = body
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
end
if auth and auth ~= "" then
  wrk.headers["Authorization"] = auth
end

function done(summary, latency, requests)
  local e = summary.errors
  local secs = summary.duration / 1000000
  local line = string.format(
    "requests=%d duration_s=%.3f rps=%.2f p50_us=%d p90_us=%d p99_us=%d max_us=%d " ..
    "mean_us=%.1f status_errors=%d connect_errors=%d read_errors=%d write_errors=%d " ..
    "timeouts=%d",
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean, e.status, e.connect, e.read, e.write, e.timeout)
  local out = os.getenv("BENCH_OUT")
  if out and out ~= "" then
    local f = assert(io.open(out, "w"))
    f:write(line, "\n")
    f:close()
  end
  io.write("RESULT ", line, "\n")
end
