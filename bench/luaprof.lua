--- Where the Lua layer of quote() spends its Lua VM instructions: a count
-- hook (debug.sethook, every 7th VM instruction; deterministic, so the
-- same for the same code) attributes each sample to the Lua function that
-- was running. C functions (cjson, string.format, proxyshard.core) run no
-- VM instructions and do not show; callgrind counts them. For
-- scripts/bench.sh --profile.
--   usage: lua5.4 bench/luaprof.lua BASE_URL N
-- Prints the estimated VM instructions per request, then the functions
-- and the files with the most, as lines "fn|share|per_request|where".
local lib = require "lib"
local proxyshard = require "proxyshard"

local base_url, n = arg[1], tonumber(arg[2])
if not (base_url and n) then lib.fail("usage: luaprof.lua BASE_URL N") end
local client = proxyshard.new { token = "bench-token", base_url = base_url }
local function step()
  local quote, err = client:order(12345):addon("p0f_slots"):quote(2)
  if not quote then lib.fail(err) end
end
for _ = 1, 50 do step() end

local EVERY = 7
local by_fn, by_file, names, total = {}, {}, {}, 0
local getinfo = debug.getinfo
local function hook()
  local info = getinfo(2, "Sn")
  if not info then return end
  local key = info.short_src .. ":" .. info.linedefined
  by_fn[key] = (by_fn[key] or 0) + 1
  by_file[info.short_src] = (by_file[info.short_src] or 0) + 1
  if info.name and not names[key] then names[key] = info.name end
  total = total + 1
end
debug.sethook(hook, "", EVERY)
for _ = 1, n do step() end
debug.sethook()

local function top(counts, kind, limit)
  local keys = {}
  for k in pairs(counts) do keys[#keys + 1] = k end
  table.sort(keys, function(a, b) return counts[a] > counts[b] end)
  for i = 1, math.min(limit, #keys) do
    local k = keys[i]
    print(("%s|%.1f%%|%.0f|%s%s"):format(kind, counts[k] * 100 / total, counts[k] * EVERY / n, k,
      names[k] and (" (" .. names[k] .. ")") or ""))
  end
end
print(("total|100%%|%.0f|VM instructions per request"):format(total * EVERY / n))
top(by_file, "file", 12)
top(by_fn, "fn", 20)
