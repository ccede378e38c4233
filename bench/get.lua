-- wrk script: GET the URL and print one machine-readable summary line
-- (latencies in microseconds), like the peer's post.lua.
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"duration_us":%d,"requests":%d,"bytes":%d,"errors_status":%d,"errors_timeout":%d,' ..
    '"p50_us":%d,"p99_us":%d}\n',
    summary.duration, summary.requests, summary.bytes, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
