--- One spend at a time on the same thing, inside this process: two
-- spends with one key — the same account's order and add-on, or the same
-- operation — never run at once. The second waits for the first (inside
-- client:map the other items go on meanwhile) and then runs, so it reads
-- what the first bought: `client:map({ 12345, 12345 }, top_up)` buys the
-- missing slots once. Runs of other processes are the lock's
-- (proxyshard.jobs.lock).
--
-- A key is held by a coroutine (the main thread counts as one), and the
-- same coroutine may take it again (a top-up holds its order's key around
-- the purchase, which takes it too). A wait ends at the call's deadline
-- with a `timeout` error: nothing was sent.
-- @module proxyshard.jobs.exclusive
local errors = require "proxyshard.errors"
local concurrent = require "proxyshard.flows.map"

local ngx = ngx -- luacheck: ignore (the nginx global, when inside nginx)

local error = error
local running = coroutine.running
local unpack = table.unpack or unpack -- luacheck: ignore (LuaJIT)
local pack = table.pack or function(...) return { n = select("#", ...), ... } end

local M = {}

M.POLL = 0.01 -- seconds between looks at a held key

-- key → { owner = coroutine or "main", depth = n }
local held = {}

local function me()
  -- LuaJIT's and Lua 5.1's main thread has no coroutine object
  return concurrent.owner(running()) or "main"
end

-- Wait outside the main loop's way: a map item yields, nginx's light
-- threads sleep, anything else blocks (and the holder is then another
-- coroutine of the caller's, which cannot run: the deadline ends it).
local function pause()
  if require("proxyshard.check.settings").in_nginx() then return ngx.sleep(M.POLL) end
  concurrent.sleep(M.POLL)
end

--- fn(...) with `key` held, after waiting for another holder until
-- `call.deadline` on `clock`. Returns what fn returns; an error fn raises
-- goes up after the key is let go.
function M.run(key, call, clock, fn, ...)
  local who = me()
  local h = held[key]
  while h and h.owner ~= who do
    if clock() >= call.deadline then
      return nil, errors.new("timeout", "another spend on the same thing (" .. key .. ") was still running "
        .. "when the call's time ran out: nothing was sent", { request_sent = false })
    end
    pause()
    h = held[key]
  end
  if h then
    h.depth = h.depth + 1
  else
    h = { owner = who, depth = 1 }
    held[key] = h
  end
  local results = pack(concurrent.pcall(fn, ...)) -- a map item may yield inside (Lua 5.1 too)
  h.depth = h.depth - 1
  if h.depth == 0 then held[key] = nil end
  if not results[1] then error(results[2], 0) end
  return unpack(results, 2, results.n)
end

--- Is `key` held now (by anyone)? For specs and reports.
function M.busy(key)
  return held[key] ~= nil
end

return M
