--- COUNT quotes against the calculate path that answers in 20 ms
-- (base_url .../slow), either one after the other ("seq"), or through
-- client:map(list, fn, { concurrency = C }) ("map"), the concurrent API
-- being added in issue 11. Prints
--   result n=COUNT wall=S cpu=S ok=K
-- or, when the client has no map yet,
--   result unavailable
-- "mem" is "map" for the memory a call in flight holds: one quote first
-- (the modules loaded, the client's own connection made; untimed), then
-- VmRSS (rss_before), then the map, then VmHWM (the peak since the start),
-- and the line ends with rss_before=KB hwm=KB: (hwm - rss_before) / C is
-- what each call in flight holds. There fn returns the quote's total in
-- cents, not the quote: the result list (COUNT small entries) is part of
-- what map holds, the quotes a caller might keep are not.
--   usage: lua5.4 bench/map.lua BASE_URL COUNT CONCURRENCY seq|map|mem
local lib = require "lib"
local proxyshard = require "proxyshard"
local core = require "proxyshard.core"

local base_url, count, concurrency, mode = arg[1], tonumber(arg[2]), tonumber(arg[3]), arg[4]
if not (base_url and count and concurrency and (mode == "seq" or mode == "map" or mode == "mem")) then
  lib.fail("usage: map.lua BASE_URL COUNT CONCURRENCY seq|map|mem")
end

local client = proxyshard.new { token = "bench-token", base_url = base_url }

local function is_quote(v)
  return type(v) == "table" and v.total ~= nil and v.add_qty == 2
end

local list = {}
for i = 1, count do list[i] = i end

local rss_before
if mode == "mem" then
  local quote, err = client:order(12345):addon("p0f_slots"):quote(2)
  if not quote then lib.fail(err) end
  rss_before = lib.rss()
end

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
  -- "mem": fn keeps the quote's total (cents), not the quote, so that what
  -- is measured is what map holds, not 10,000 quotes kept by the caller.
  local function fn(a, b)
    local c = (type(a) == "table" and a.order and a) or (type(b) == "table" and b.order and b) or client
    local quote, err = c:order(12345):addon("p0f_slots"):quote(2)
    if mode == "mem" and quote then return quote.total.cents end
    return quote, err
  end
  local results, err = client:map(list, fn, { concurrency = concurrency })
  if not results then lib.fail(err) end
  for i = 1, count do
    local r = results[i]
    -- a quote, or a { value, err } / { value = } pair holding one
    if mode == "mem" then
      if type(r) == "table" and (r.value == 60 or r[1] == 60) then ok = ok + 1 end
    elseif is_quote(r) or (type(r) == "table" and (is_quote(r[1]) or is_quote(r.value))) then
      ok = ok + 1
    end
  end
end
local line = ("result n=%d wall=%.6f cpu=%.6f ok=%d"):format(count, core.monotonic() - w0, os.clock() - c0, ok)
if rss_before then line = line .. (" rss_before=%d hwm=%d"):format(rss_before, lib.hwm()) end
print(line)
