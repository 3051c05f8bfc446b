-- A client's GET through nginx, with its token; nginx asks the auth endpoint, then the upstream.
-- Parameters from the environment: BENCH_TOKEN (see common.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")
client_get()
