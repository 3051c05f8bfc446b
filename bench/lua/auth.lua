-- /auth as nginx's auth_request asks it: GET with X-Original-Method/URI and the client's token.
-- Parameters from the environment: BENCH_TOKEN (see common.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")
client_get()
wrk.headers["X-Original-Method"] = "GET"
wrk.headers["X-Original-URI"] = "/api/v2/payroll/payslips/2026"
