-- Scenarios 7 and 14 for wrk: a versioned move (moveOpportunityStage between two open
-- stages, dispatchWorkOrder between two technicians) on many rows, one request in ten on a
-- few hot rows shared by all, the rest on each thread's own rows. `__FORMAT__` is the
-- request, formatted with the alias number, the id, the version and the target. Each thread keeps the version it
-- last saw of every row and sends it as
-- expectedVersion; a deal moves between two open stages by the parity of its version, so a
-- move is always to another stage. A VERSION_CONFLICT (someone moved the row first) is
-- counted and its reported version taken for the next try. run.sh fills in the rows.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer __TOKEN__"

local ids = { __IDS__ }
local start_versions = { __VERSIONS__ }
local hot = __HOT__
local threads_total = __THREADS__
local stages = { "__STAGE_A__", "__STAGE_B__" }
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end

function init(args)
  errors, conflicts, moved = 0, 0, 0
  versions = {}
  for i, v in ipairs(start_versions) do versions[i] = v end
  math.randomseed(1000 + id)
end

function request()
  local i
  if math.random() < 0.1 then
    i = math.random(1, hot)
  else
    -- Each client thread works its own deals, as reps do; its connections may still
    -- overlap on one.
    repeat i = math.random(hot + 1, #ids) until (i - hot) % threads_total == id - 1
  end
  local v = versions[i]
  local body = string.format('__FORMAT__', i, ids[i], v, stages[(v % 2) + 1])
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status ~= 200 or string.find(body, '"errors"', 1, true) then
    errors = errors + 1
    return
  end
  local i = tonumber(string.match(body, '"r(%d+)"'))
  local v = tonumber(string.match(body, '"version":(%d+)'))
  if v then
    moved = moved + 1
  elseif string.find(body, "VERSION_CONFLICT", 1, true) then
    conflicts = conflicts + 1
    v = tonumber(string.match(body, "at version (%d+)"))
  else
    errors = errors + 1
  end
  if i and v then versions[i] = v end
end

function done(summary, latency, requests)
  local failed, conflicted, succeeded = 0, 0, 0
  for _, t in ipairs(threads) do
    failed = failed + t:get("errors")
    conflicted = conflicted + t:get("conflicts")
    succeeded = succeeded + t:get("moved")
  end
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p95_us":%d,"p99_us":%d,"errors":%d,"socket_errors":%d,"conflicts":%d,"moves":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95), latency:percentile(99),
    failed, summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    conflicted, succeeded))
end
