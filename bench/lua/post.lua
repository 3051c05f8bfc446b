-- Post the bodies of a file round-robin and count answers that are not data.
-- Parameters from the environment: BENCH_SECRET (see common.lua); BENCH_BODIES, a file
-- of JSON request bodies, one a line; with BENCH_RATE, requests follow a fixed schedule
-- of that many per second in all (see pacing.lua), else each connection sends at once.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")
service_client_post()
local bodies = lines_of("BENCH_BODIES")
local i = 0
function request()
  i = i % #bodies + 1
  return wrk.format(nil, nil, nil, bodies[i])
end
function response(status, headers, body)
  local data = string.find(body, '"data"', 1, true)
  if status ~= 200 or not data or string.find(body, '"errors"', 1, true) then
    bad = bad + 1
  end
end
-- wrk paces only when delay() exists: define it only for a scheduled run.
if os.getenv("BENCH_RATE") then dofile(here .. "pacing.lua") end
