-- One benchmark scenario for wrk: POSTs a GraphQL body, counts responses with errors,
-- and prints one RESULT line of JSON. The body and token are filled in by run.sh.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer __TOKEN__"
wrk.body = [==[__BODY__]==]

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_id", #threads)
end

-- A body with __N__ (a create whose records must differ, say) gets a number unique to
-- each request in its place; any other body is sent as it is.
if string.find(wrk.body, "__N__", 1, true) then
  local template = wrk.body
  local n = 0
  request = function()
    n = n + 1
    return wrk.format(nil, nil, nil, (string.gsub(template, "__N__", (thread_id or 0) .. "-" .. n)))
  end
end

function init(args)
  errors = 0
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    errors = errors + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, t in ipairs(threads) do
    failed = failed + t:get("errors")
  end
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"errors":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    failed, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
