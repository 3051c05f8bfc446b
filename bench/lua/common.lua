-- What every wrk script of bench/ shares: its parameters, the request it sends (a POST of
-- JSON as the service client, or an end client's GET), and a count of bad answers that each
-- script's response() keeps and done() prints for the bench to read.

-- A parameter of the scripts, from the environment; a run without it stops at once.
function parameter(name)
  local value = os.getenv(name)
  if value == nil then error(name .. " is not set: bench/harness.py passes it") end
  return value
end

-- The lines of the file that parameter `name` names, in order.
function lines_of(name)
  local lines = {}
  for line in io.lines(parameter(name)) do
    lines[#lines + 1] = line
  end
  return lines
end

bad = 0  -- a global: done() reads it from each thread with thread:get
-- The globals that done() adds up over the threads and prints; a script may add its own.
counts = { "bad" }
local threads = {}
function setup(thread) table.insert(threads, thread) end
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

-- A POST of JSON as nobody.
function anonymous_post()
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

-- A POST of JSON as the service client: BENCH_SECRET, its secret.
function service_client_post()
  anonymous_post()
  wrk.headers["Authorization"] = "Bearer " .. parameter("BENCH_SECRET")
end

-- A GET of the end client at 10.1.2.3 with its access token, BENCH_TOKEN; an answer other
-- than 200 is bad. wrk, on 127.0.0.1, plays a trusted load balancer that saw the client.
function client_get()
  wrk.method = "GET"
  wrk.headers["X-Forwarded-For"] = "10.1.2.3"
  wrk.headers["Authorization"] = "Bearer " .. parameter("BENCH_TOKEN")
  function response(status, headers, body)
    if status ~= 200 then bad = bad + 1 end
  end
end
