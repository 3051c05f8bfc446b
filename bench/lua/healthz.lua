-- GET /healthz as nobody and count answers that are not 200; with BENCH_RATE, on a fixed
-- schedule of that many requests per second in all (see pacing.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")
wrk.method = "GET"
wrk.path = "/healthz"
function response(status, headers, body)
  if status ~= 200 then bad = bad + 1 end
end
if os.getenv("BENCH_RATE") then dofile(here .. "pacing.lua") end
