--- Many calls at once: client:map(list, fn, { concurrency = n }).
--
-- fn(item, i) runs for every item of `list`, at most `concurrency` of them
-- at a time; inside fn any call of the library (several in a row, a
-- purchase with its quote, reads and reconciliation) runs concurrently with
-- the other items. The result is one entry per item, in list order:
-- { value = fn's first result, err = its second, or the error it raised }.
--
-- Outside nginx each item is a coroutine, and one scheduler drives them:
--   * the call loop (engine.call.perform) hands its request to M.request. Inside an item, when the
--     transport has batches (`transport:batch`, docs/transport.md: the
--     curl transport's is a core.multi, one curl_multi loop in C, a pool of
--     easy handles sharing their connections), the request is yielded to
--     the scheduler, which starts it on the batch and resumes the item with
--     the answer; meanwhile the other items run. Everything above the
--     transport — the call's deadline, retries and what is never resent —
--     is the call loop's, unchanged: each attempt is still one request with
--     the time left of its call (libcurl's timeout in the multi counts any
--     wait for a free connection too).
--   * the client's default sleep (retry backoff, reconciliation's re-reads)
--     calls M.sleep: inside an item it yields "wake me at t" instead of
--     blocking, so a wait holds only its own item.
--   * a transport without batches (a test double) performs each request
--     where it is called: the items then take turns at each request, and
--     still wait concurrently. An injected `sleep` option is called as it
--     is (it blocks).
-- Inside nginx (ngx.thread available): `concurrency` light threads take the
-- items in turn, over the nginx transports, which are non-blocking already;
-- ngx.sleep waits.
--
-- Limits: a request made from a coroutine of fn's own (not the item's),
-- or where Lua cannot yield (inside a C function such as string.gsub's
-- callback), is performed in place, blocking the other items; a map inside
-- an item runs to its end before that item goes on, and holds the others
-- meanwhile. When fn yields on its own (not through the library), its item
-- ends with an error.
local errors = require "proxyshard.errors"
local options = require "proxyshard.check.options"

local ngx = ngx -- luacheck: ignore (the nginx global, when inside nginx)

local type = type
local pcall = pcall
local error = error
local ipairs = ipairs
local pairs = pairs
local next = next
local tostring = tostring
local getmetatable = getmetatable
local setmetatable = setmetatable
local create = coroutine.create
local resume = coroutine.resume
local status = coroutine.status
local yield = coroutine.yield
local running = coroutine.running
local isyieldable = coroutine.isyieldable or function() return true end
local close_coroutine = coroutine.close -- Lua 5.4
local floor = math.floor
local min = math.min
local max = math.max
local remove = table.remove
local format = string.format

local M = {}

M.DEFAULT_CONCURRENCY = 10
M.MAX_CONCURRENCY = 100

local OPTIONS = { concurrency = true }

-- The longest single wait of the scheduler (it loops for longer ones).
local MAX_WAIT = 1

-- What the library yields to the scheduler, first of its values: fn's own
-- yields never carry it.
local MARK = setmetatable({}, { __name = "proxyshard.concurrent.mark" })

-- What an item's coroutine yields when fn has returned: its results follow,
-- and the next item is resumed into the same coroutine.
local DONE = setmetatable({}, { __name = "proxyshard.concurrent.done" })

-- item coroutine -> its scheduler (weak: a finished item is forgotten)
local schedulers = setmetatable({}, { __mode = "k" })

local function core()
  return require "proxyshard.core"
end

-- The scheduler of the running item, when the running coroutine is one
-- and may yield.
local function current()
  local co = running()
  if co == nil then return nil end
  local s = schedulers[co]
  if s and isyieldable() then return s end
  return nil
end

-- Plain Lua 5.1 cannot yield across pcall (a C-call boundary there), and a
-- spend runs its request under one (proxyshard.jobs.exclusive). There
-- M.pcall runs fn in a coroutine of its own that stands for the caller's
-- (the same scheduler, the same owner: M.owner) and passes its yields up.
-- LuaJIT and Lua 5.2+ yield across pcall: M.pcall is pcall.
local stands_for = setmetatable({}, { __mode = "k" }) -- such a coroutine -> its caller's

--- The coroutine `co` stands for (itself, but for M.pcall's own); nil for nil.
function M.owner(co)
  while stands_for[co] do co = stands_for[co] end
  return co
end

if _VERSION == "Lua 5.1" and not rawget(_G, "jit") then
  --- pcall(fn, ...), but the running coroutine may still yield inside fn.
  function M.pcall(fn, ...)
    local caller = running()
    if caller == nil then return pcall(fn, ...) end -- the main thread cannot yield anyway
    local co = create(fn)
    stands_for[co], schedulers[co] = caller, schedulers[caller]
    local function after(ok, ...)
      if ok and status(co) == "suspended" then return after(resume(co, yield(...))) end
      return ok, ...
    end
    return after(resume(co, ...))
  end
else
  M.pcall = pcall
end

--- One attempt of the call loop: yielded to the scheduler inside an item
-- when the transport has batches, else transport:request(req).
function M.request(transport, req)
  if transport.batch and current() then
    local ok, res, terr = yield(MARK, "request", transport, req)
    if not ok then error(res, 0) end -- the batch refused req: a programmer error
    return res, terr
  end
  return transport:request(req)
end

--- The client's default sleep: inside an item it yields to the scheduler
-- (the other items go on); elsewhere core.sleep.
function M.sleep(seconds)
  if current() then
    yield(MARK, "sleep", seconds)
    return
  end
  core().sleep(seconds)
end

-- ---- the scheduler ---------------------------------------------------

local Scheduler = {}
Scheduler.__index = Scheduler

local function new_scheduler(concurrency)
  local c = core()
  return setmetatable({
    concurrency = concurrency,
    clock = c.monotonic,
    pause = c.sleep,
    results = {},
    index = {},        -- item coroutine -> its index in the list
    ready = {},        -- { co, ok, res, terr } to resume, in order
    timers = {},       -- { at, co }: sleeping items
    batches = {},      -- transport -> its batch, opened on first use
    order = {},        -- the batches in the order they were opened
    flight = {},       -- batch -> { [id] = co }
    in_flight = 0,
    active = 0,        -- items started and not finished
    idle = {},         -- item coroutines whose fn returned, for the next items
  }, Scheduler)
end

-- An item is over: its result, and room for the next one.
function Scheduler:finish(co, result)
  self.results[self.index[co]] = result
  self.index[co] = nil
  schedulers[co] = nil
  self.active = self.active - 1
end

function Scheduler:batch_of(transport)
  local b = self.batches[transport]
  if not b then
    b = transport:batch { concurrency = self.concurrency }
    self.batches[transport] = b
    self.order[#self.order + 1] = b
    self.flight[b] = {}
  end
  return b
end

-- What an item yielded: a request to start, or a wait.
function Scheduler:handle(co, what, a, b)
  if what == "request" then
    local batch = self:batch_of(a)
    local ok, id, terr = pcall(batch.start, batch, b)
    if not ok then
      self.ready[#self.ready + 1] = { co, false, id }
    elseif id == nil then
      self.ready[#self.ready + 1] = { co, true, nil, terr }
    else
      self.flight[batch][id] = co
      self.in_flight = self.in_flight + 1
    end
  else -- "sleep"
    self.timers[#self.timers + 1] = { self.clock() + a, co }
  end
end

-- Resume `co` with `...` and deal with how it stops.
function Scheduler:step(co, ...)
  local ok, a, b, c, d = resume(co, ...)
  if not ok then
    self:finish(co, { err = a })
  elseif a == DONE then
    self:finish(co, { value = b, err = c })
    self.idle[#self.idle + 1] = co
  elseif status(co) == "dead" then
    self:finish(co, { value = a, err = b })
  elseif a ~= MARK then
    -- fn yielded by itself: nothing of ours waits for it
    if close_coroutine then close_coroutine(co) end -- its to-be-closed variables
    self:finish(co, { err = format("proxyshard map: fn yielded (%s) outside the library's calls; "
      .. "its item was abandoned", tostring(a)) })
  else
    self:handle(co, b, c, d)
  end
end

function Scheduler:start_items(list, count)
  while self.active < self.concurrency and self.next_item <= count do
    local i = self.next_item
    self.next_item = i + 1
    local idle = self.idle
    local co = idle[#idle]
    if co then idle[#idle] = nil else co = create(self.body) end
    self.index[co] = i
    schedulers[co] = self
    self.active = self.active + 1
    self:step(co, list[i], i)
  end
end

function Scheduler:run_ready()
  while #self.ready > 0 do
    local r = remove(self.ready, 1)
    self:step(r[1], r[2], r[3], r[4])
  end
end

-- Wake the sleepers whose time has come; the time of the next one, or nil.
function Scheduler:wake()
  local now, soonest = self.clock(), nil
  local due = {}
  local timers = self.timers
  local i = 1
  while i <= #timers do
    local t = timers[i]
    if t[1] <= now then
      due[#due + 1] = t[2]
      timers[i] = timers[#timers]
      timers[#timers] = nil
    else
      soonest = soonest and min(soonest, t[1]) or t[1]
      i = i + 1
    end
  end
  for _, co in ipairs(due) do self:step(co) end
  return soonest, #due > 0
end

-- Hand the finished attempts of `batch` back to their items.
function Scheduler:deliver(batch, done)
  local flight = self.flight[batch]
  for _, d in ipairs(done) do
    local co = flight[d.id]
    if co then
      flight[d.id] = nil
      self.in_flight = self.in_flight - 1
      self:step(co, true, d.res, d.terr)
    end
  end
  return #done > 0
end

-- Wait for an attempt to end or the next sleeper's time, at most `seconds`.
function Scheduler:await(seconds)
  local busy = {}
  for _, b in ipairs(self.order) do
    if next(self.flight[b]) ~= nil then busy[#busy + 1] = b end
  end
  if #busy == 1 then
    self:deliver(busy[1], busy[1]:wait(seconds))
  elseif #busy > 1 then
    -- items on several transports: poll each, then wait a little on one
    local any = false
    for _, b in ipairs(busy) do any = self:deliver(b, b:wait(0)) or any end
    if not any then self:deliver(busy[1], busy[1]:wait(min(seconds, 0.002))) end
  elseif seconds > 0 then
    self.pause(seconds)
  end
end

function Scheduler:loop(list, fn, count)
  self.next_item = 1
  -- Each coroutine runs items one after another (fn's results go up with
  -- DONE, the next item comes back in): a coroutine per item would leave
  -- each one's grown stack as garbage until the next collection, a heap
  -- that grows with the concurrency. One that raised is dead: its
  -- successor is a new one.
  self.body = function(item, i)
    while true do
      local value, err = fn(item, i)
      item, i = yield(DONE, value, err)
    end
  end
  while true do
    self:start_items(list, count)
    self:run_ready()
    local soonest, woke = self:wake()
    if self.active == 0 and self.next_item > count then return end
    local room = self.active < self.concurrency and self.next_item <= count
    -- wait only when nothing can go on without it
    if not woke and not room and #self.ready == 0 then
      if self.in_flight == 0 and not soonest then
        error("proxyshard map: internal error: items neither running, waiting nor sleeping", 0)
      end
      self:await(soonest and min(max(0, soonest - self.clock()), MAX_WAIT) or MAX_WAIT)
    end
  end
end

-- Abandon what is still under way (the map failed) and close the batches.
function Scheduler:close(failed)
  for _, b in ipairs(self.order) do
    if failed and b.cancel then
      for id in pairs(self.flight[b]) do pcall(b.cancel, b, id) end
    end
    if b.close then pcall(b.close, b) end
  end
  for co in pairs(self.index) do schedulers[co] = nil end
end

local function run_coroutines(list, fn, count, concurrency)
  local s = new_scheduler(concurrency)
  local ok, err = pcall(s.loop, s, list, fn, count)
  s:close(not ok)
  if not ok then error(err, 0) end
  return s.results
end

-- ---- inside nginx ----------------------------------------------------

local function run_light_threads(list, fn, count, concurrency)
  local results, next_item = {}, 1
  local function worker()
    while next_item <= count do
      local i = next_item
      next_item = i + 1
      local ok, value, err = pcall(fn, list[i], i)
      results[i] = ok and { value = value, err = err } or { err = value }
    end
  end
  local threads = {}
  for k = 1, min(concurrency, count) do
    local ok, th = pcall(ngx.thread.spawn, worker)
    if not ok then break end -- a phase without light threads: the rest below
    threads[k] = th
  end
  if #threads == 0 then worker() end
  for _, th in ipairs(threads) do ngx.thread.wait(th) end
  return results
end

local in_nginx = require("proxyshard.check.settings").in_nginx

-- ---- map ---------------------------------------------------------------

local function callable(fn)
  if type(fn) == "function" then return true end
  local mt = getmetatable(fn)
  return type(mt) == "table" and mt.__call ~= nil
end

local function check(list, fn, opts)
  if type(list) ~= "table" then return nil, errors.invalid("list", "must be a table (an array of items)") end
  if not callable(fn) then return nil, errors.invalid("fn", "must be a function (item, i)") end
  if opts ~= nil and type(opts) ~= "table" then
    return nil, errors.invalid("opts", "must be a table, e.g. { concurrency = 20 }")
  end
  opts = opts or {}
  local unknown = options.unknown(opts, OPTIONS, "map's options")
  if unknown then return nil, unknown end
  return M.concurrency(opts.concurrency)
end

--- A concurrency checked: nil → the default; else an integer from 1 to
-- MAX_CONCURRENCY, or nil, err (the top-up command checks its own with it).
function M.concurrency(n)
  if n == nil then return M.DEFAULT_CONCURRENCY end
  if type(n) ~= "number" or n ~= floor(n) or n < 1 or n > M.MAX_CONCURRENCY then
    return nil, errors.invalid("concurrency", format("must be an integer from 1 to %d", M.MAX_CONCURRENCY))
  end
  return floor(n)
end

--- client:map(list, fn [, { concurrency = n }]): see the top of this file.
-- Returns the list of results, or nil, err (invalid_argument) for bad
-- arguments, and nothing runs.
function M.map(list, fn, opts)
  local concurrency, err = check(list, fn, opts)
  if not concurrency then return nil, err end
  local count = #list
  if count == 0 then return {} end
  if in_nginx() then return run_light_threads(list, fn, count, concurrency) end
  return run_coroutines(list, fn, count, concurrency)
end

return M
