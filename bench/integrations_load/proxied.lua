-- A client's GET through nginx, with its token; nginx asks the auth endpoint, then the upstream.
-- BENCH_TOKEN: the access token. Counts answers that are not 200.
wrk.method = "GET"
-- wrk, on 127.0.0.1, plays a trusted load balancer that saw the client at 10.1.2.3.
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
