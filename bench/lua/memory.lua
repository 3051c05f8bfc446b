-- Each request validates the next token of the file once. After the last answer the
-- thread stops and leaves a mark; wrk itself waits for its -d duration or a SIGINT.
-- Parameters from the environment: BENCH_SECRET (see common.lua); BENCH_TOKENS, a file of
-- access tokens, one a line; BENCH_HEAD and BENCH_TAIL, the request body before and after
-- the token; BENCH_MARK, the file written once every token has been answered.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")
service_client_post()
local tokens = lines_of("BENCH_TOKENS")
local head = parameter("BENCH_HEAD")
local tail = parameter("BENCH_TAIL")
local mark_path = parameter("BENCH_MARK")
local sent, answered = 0, 0
function request()
  sent = sent % #tokens + 1
  return wrk.format(nil, nil, nil, head .. tokens[sent] .. tail)
end
function response(status, headers, body)
  answered = answered + 1
  if status ~= 200 or not string.find(body, '"valid":true', 1, true) then bad = bad + 1 end
  if answered == #tokens then
    local mark = io.open(mark_path, "w")
    mark:write("done")
    mark:close()
    wrk.thread:stop()
  end
end
