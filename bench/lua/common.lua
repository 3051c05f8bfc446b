-- What every wrk script of bench/ shares: a POST of JSON as the service client, and a count
-- of bad answers that each script's response() keeps and done() prints for the bench to read.
-- Parameters come from the environment: BENCH_SECRET, the service client's secret.

-- A parameter of the scripts, from the environment; a run without it stops at once.
function parameter(name)
  local value = os.getenv(name)
  if value == nil then error(name .. " is not set: bench/harness.py passes it") end
  return value
end

bad = 0  -- a global: done() reads it from each thread with thread:get
local threads = {}
function setup(thread) table.insert(threads, thread) end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. parameter("BENCH_SECRET")
function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + t:get("bad") end
  io.write(string.format('bench:{"bad": %d, "requests": %d}\n', total, summary.requests))
end
