-- wrk script: POST one message (JSON) to the URL given on the command line, count answers by
-- status, and print one JSON line with throughput, latency percentiles and status counts.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if os.getenv("MAILROOM_TOKEN") then
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("MAILROOM_TOKEN")
end
wrk.body = '{"from":"Ann Resident <ann@example.org>","subject":"Heating broken in council flat",' ..
  '"body":"Hello, the heating in my flat at 14 Mill Court has not worked since Monday and my ' ..
  'two children are unwell. The repairs line has not answered. Could someone come today? ' ..
  'My tenancy reference is MC-2231. Thank you, Ann"}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then
      for k, v in pairs(s) do counts[k] = (counts[k] or 0) + v end
    end
  end
  local parts = {}
  for k, v in pairs(counts) do table.insert(parts, string.format('"%s":%d', k, v)) end
  local secs = summary.duration / 1e6
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"seconds":%.2f,"rps":%.2f,"p50_ms":%.1f,"p95_ms":%.1f,"p99_ms":%.1f,' ..
    '"max_ms":%.1f,"statuses":{%s},"socket_errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
    summary.requests, secs, summary.requests / secs,
    latency:percentile(50) / 1e3, latency:percentile(95) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, table.concat(parts, ","), e.connect, e.read, e.write, e.timeout))
end
