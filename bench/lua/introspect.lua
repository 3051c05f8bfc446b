-- POST /oauth/introspect as a service client (HTTP Basic), one token, from one end-client address.
-- Parameters from the environment: BENCH_BASIC, base64 of "id:secret"; BENCH_TOKEN, the
-- access token. Counts answers that are not active.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. parameter("BENCH_BASIC")
wrk.body = "token=" .. parameter("BENCH_TOKEN") .. "&ip=10.1.2.3&area=payroll&folder=payslips&access=read"
function response(status, headers, body)
  if status ~= 200 or not string.find(body, '"active":true', 1, true) then bad = bad + 1 end
end
