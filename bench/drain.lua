-- wrk script for the SIGTERM runs: POST BODY_FILE (JSON) when it is set,
-- else GET the URL; then one machine-readable line with every error counter,
-- so lost requests (read/write errors, timeouts) are told apart from new
-- connections refused once the server stopped listening (connect errors).
local path = os.getenv("BODY_FILE")
if path and path ~= "" then
  local f = assert(io.open(path, "rb"))
  wrk.method = "POST"
  wrk.body = f:read("*a")
  f:close()
  wrk.headers["Content-Type"] = "application/json"
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,"p99_us":%d}\n',
    summary.requests, e.connect, e.read, e.write, e.status, e.timeout, latency:percentile(99)))
end
