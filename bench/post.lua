-- wrk script: POST the file BODY_FILE with CONTENT_TYPE (and, for a binary
-- Open Inference Protocol body, Inference-Header-Content-Length), then
-- print one machine-readable summary line like get.lua.
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
local ctype = os.getenv("CONTENT_TYPE")
if ctype and ctype ~= "" then wrk.headers["Content-Type"] = ctype end
local hlen = os.getenv("HEADER_LENGTH")
if hlen and hlen ~= "" then wrk.headers["Inference-Header-Content-Length"] = hlen end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"bytes":%d,"errors_status":%d,"errors_timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d}\n',
    summary.duration, summary.requests, summary.bytes, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
