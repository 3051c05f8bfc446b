-- POST /oauth/introspect as a service client (HTTP Basic), one token, from one end-client address.
-- BENCH_BASIC: base64 of "id:secret"; BENCH_TOKEN: the access token. Counts answers that are not active.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. os.getenv("BENCH_BASIC")
wrk.body = "token=" .. os.getenv("BENCH_TOKEN") .. "&ip=10.1.2.3&area=payroll&folder=payslips&access=read"

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"active":true', 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format('bench:{"bad": %d}\n', total))
end
