-- A fixed schedule for wrk: request n goes out at start + n / rate, on whichever connection
-- is free, however long earlier answers took (LuaJIT's ffi reads the monotonic clock).
-- Per-connection pauses (wrk's usual delay()) would slow the rate as latency grows.
-- Parameters from the environment: BENCH_RATE, requests per second in all.
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clock, bench_timespec *now);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock)  -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end
local interval = 1000 / tonumber(parameter("BENCH_RATE"))
local next_slot = nil
function delay()
  local now = now_ms()
  next_slot = next_slot or now
  local slot = next_slot
  next_slot = next_slot + interval
  if slot <= now then return 0 end
  return math.ceil(slot - now)
end
