-- wrk drives a fixed plan for bench/http_load.py: every request of the plan sent once, then stop.
--
--   wrk -t T -c C -d 600s -s bench/wrk_plan.lua URL -- PLAN BODY TOKEN STATUS DONE_DIR
--
-- PLAN has one request path per line (POSTed, shared by the threads round-robin), BODY is the
-- JSON body of every request, TOKEN a bearer token or "-", STATUS the status every answer must
-- have. wrk runs for a duration, not a count: each thread, when its share is answered, parks its
-- connections (an empty request) and marks itself done in DONE_DIR. http_load.py times the
-- run until every thread's mark is there, then ends wrk with SIGINT, and `done()` prints the
-- summary line: answers, wrong statuses, latency percentiles.

local threads = {}
local count = 0

function setup(thread)
  thread:set("index", count)
  count = count + 1
  table.insert(threads, thread)
end

local function read(path)
  local file = assert(io.open(path, "rb"))
  local text = file:read("*a")
  file:close()
  return text
end

function init(args)
  local plan, body, token = args[1], read(args[2]), args[3]
  expected, done_dir = tonumber(args[4]), args[5]
  threads_total = tonumber(args[6])
  local headers = { ["Content-Type"] = "application/json" }
  if token ~= "-" then headers["Authorization"] = "Bearer " .. token end
  queue = {}
  local line = 0
  for path in io.lines(plan) do
    if line % threads_total == index then
      table.insert(queue, wrk.format("POST", path, headers, body))
    end
    line = line + 1
  end
  sent, received, failed = 0, 0, 0
  -- wrk calls request() once on the first thread right after init, to count the requests in
  -- what it returns (pipelining): that call must return one request and send nothing.
  verifying = index == 0
end

function request()
  if verifying then
    verifying = false
    return queue[1]
  end
  if sent < #queue then
    sent = sent + 1
    return queue[sent]
  end
  return "" -- the plan is spent: this connection waits, idle, for the run to end
end

local function finish()
  local mark = assert(io.open(done_dir .. "/" .. index, "w"))
  mark:close()
end

function response(status, headers, body)
  received = received + 1
  if status ~= expected then
    failed = failed + 1
    if failed == 1 then io.stderr:write("unexpected " .. status .. ": " .. body:sub(1, 300) .. "\n") end
  end
  if received == #queue then finish() end
end

function done(summary, latency, requests)
  local answered, wrong = 0, 0
  for _, thread in ipairs(threads) do
    answered = answered + thread:get("received")
    wrong = wrong + thread:get("failed")
  end
  io.write(string.format(
    "plan answered=%d failed=%d duration_us=%d p50_us=%d p99_us=%d\n",
    answered, wrong, summary.duration, latency:percentile(50), latency:percentile(99)
  ))
end
