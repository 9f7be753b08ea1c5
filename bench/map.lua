--- COUNT quotes against the calculate path that answers in 20 ms
-- (base_url .../slow), either one after the other ("seq"), or through
-- client:map(list, fn, { concurrency = C }) ("map"), the concurrent API
-- being added in issue 11. Prints
--   result n=COUNT wall=S cpu=S ok=K
-- or, when the client has no map yet,
--   result unavailable
--   usage: lua5.4 bench/map.lua BASE_URL COUNT CONCURRENCY seq|map
local lib = require "lib"
local proxyshard = require "proxyshard"
local core = require "proxyshard.core"

local base_url, count, concurrency, mode = arg[1], tonumber(arg[2]), tonumber(arg[3]), arg[4]
if not (base_url and count and concurrency and (mode == "seq" or mode == "map")) then
  lib.fail("usage: map.lua BASE_URL COUNT CONCURRENCY seq|map")
end

local client = proxyshard.new { token = "bench-token", base_url = base_url }

local function is_quote(v)
  return type(v) == "table" and v.total ~= nil and v.add_qty == 2
end

local list = {}
for i = 1, count do list[i] = i end

local ok = 0
local w0, c0 = core.monotonic(), os.clock()
if mode == "seq" then
  for _ = 1, count do
    local quote, err = client:order(12345):addon("p0f_slots"):quote(2)
    if not quote then lib.fail(err) end
    ok = ok + 1
  end
else
  if type(client.map) ~= "function" then
    print("result unavailable")
    os.exit(0)
  end
  -- What fn is given is the new API's to say: a client-like value among
  -- its arguments (one with :order) is used; otherwise the client itself.
  local function fn(a, b)
    local c = (type(a) == "table" and a.order and a) or (type(b) == "table" and b.order and b) or client
    return c:order(12345):addon("p0f_slots"):quote(2)
  end
  local results, err = client:map(list, fn, { concurrency = concurrency })
  if not results then lib.fail(err) end
  for i = 1, count do
    local r = results[i]
    -- a quote, or a { value, err } / { value = } pair holding one
    if is_quote(r) or (type(r) == "table" and (is_quote(r[1]) or is_quote(r.value))) then ok = ok + 1 end
  end
end
print(("result n=%d wall=%.6f cpu=%.6f ok=%d"):format(count, core.monotonic() - w0, os.clock() - c0, ok))
