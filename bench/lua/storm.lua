-- A storm of failed logins, as anonymous callers: each request a wrong password for the next
-- of many usernames, from an address of its own (X-Forwarded-For, which a server that trusts
-- the bench as its proxy takes as the client), so that no rate limit refuses an attempt
-- before its password is hashed: only a full hashing queue does. Counts the answers:
-- `hashed` (UNAUTHENTICATED: the password was checked), `limited` (RATE_LIMITED), else bad.
-- Parameters from the environment: BENCH_QUERY, the Login document as a JSON string;
-- BENCH_USERNAMES, how many usernames to go round; BENCH_FIRST_ADDRESS, the number of the
-- first address (10.0.0.0 plus it), so that storms against one server use addresses apart.
local here = debug.getinfo(1, "S").source:match("^@(.*/)") or "./"
dofile(here .. "common.lua")
anonymous_post()
hashed, limited = 0, 0
counts[#counts + 1] = "hashed"
counts[#counts + 1] = "limited"
local query = parameter("BENCH_QUERY")
local usernames = tonumber(parameter("BENCH_USERNAMES"))
local sent = tonumber(parameter("BENCH_FIRST_ADDRESS"))
local headers = {}  -- wrk.format takes the headers it is given instead of wrk.headers
for name, value in pairs(wrk.headers) do headers[name] = value end
function request()
  sent = sent + 1
  local address = string.format(
    "10.%d.%d.%d", math.floor(sent / 65536) % 256, math.floor(sent / 256) % 256, sent % 256
  )
  local body = string.format(
    '{"query": %s, "variables": {"username": "storm-%d", "password": "wrong password %d"}}',
    query, sent % usernames, sent
  )
  headers["X-Forwarded-For"] = address
  return wrk.format(nil, nil, headers, body)
end
function response(status, headers, body)
  if string.find(body, '"UNAUTHENTICATED"', 1, true) then
    hashed = hashed + 1
  elseif string.find(body, '"RATE_LIMITED"', 1, true) then
    limited = limited + 1
  else
    bad = bad + 1
  end
end
