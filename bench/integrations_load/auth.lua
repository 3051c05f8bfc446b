-- /auth as nginx's auth_request asks it: GET with X-Original-Method/URI and the client's token.
-- BENCH_TOKEN: the access token. Counts answers that are not 200.
wrk.method = "GET"
wrk.headers["X-Original-Method"] = "GET"
wrk.headers["X-Original-URI"] = "/api/v2/payroll/payslips/2026"
wrk.headers["X-Forwarded-For"] = "10.1.2.3"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")

local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0 end
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("bad") end
  io.write(string.format('bench:{"bad": %d}\n', total))
end
