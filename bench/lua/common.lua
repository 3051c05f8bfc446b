-- What every wrk script of bench/ shares: a POST of JSON as the service client, and a count
-- of bad answers that each script's response() keeps and done() prints for the bench to read.
-- Parameters come from the environment: BENCH_SECRET, the service client's secret. A script
-- that calls as nobody sets the global `anonymous` before it loads this file.

-- A parameter of the scripts, from the environment; a run without it stops at once.
function parameter(name)
  local value = os.getenv(name)
  if value == nil then error(name .. " is not set: bench/harness.py passes it") end
  return value
end

bad = 0  -- a global: done() reads it from each thread with thread:get
-- The globals that done() adds up over the threads and prints; a script may add its own.
counts = { "bad" }
local threads = {}
function setup(thread) table.insert(threads, thread) end
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if not anonymous then
  wrk.headers["Authorization"] = "Bearer " .. parameter("BENCH_SECRET")
end
function done(summary, latency, requests)
  local fields = {}
  for _, name in ipairs(counts) do
    local total = 0
    for _, t in ipairs(threads) do total = total + t:get(name) end
    fields[#fields + 1] = string.format('"%s": %d', name, total)
  end
  fields[#fields + 1] = string.format('"requests": %d', summary.requests)
  io.write("bench:{" .. table.concat(fields, ", ") .. "}\n")
end
