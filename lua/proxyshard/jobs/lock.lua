--- Runs that spend never overlap: an advisory lock per account and API.
-- Outside nginx it is flock(2) on `<state dir>/<account>.lock`
-- (proxyshard.core.lock): the kernel lets it go when the process dies, so
-- a killed run never leaves it held. The file says who holds it (pid,
-- host, command, since when), for the message of the run that has to wait.
-- Inside nginx the workers share it through a lua_shared_dict (an `add`
-- with an expiry), declared as `lua_shared_dict proxyshard_locks 1m;`.
--
-- Taken by every spending command, and by the library when asked: `lock =
-- true` (or a state directory) on the client or per call. Reads never take
-- it. Inside one process (one Lua VM: inside nginx, one worker) it is
-- taken once and counted: a spend inside a run that holds it goes on, and
-- two spends of the same thing in the VM are kept apart by
-- proxyshard.jobs.exclusive instead.
-- @module proxyshard.jobs.lock
local errors = require "proxyshard.errors"
local json = require "proxyshard.wire.json"
local state = require "proxyshard.jobs.state"
local settings = require "proxyshard.check.settings"
local concurrent = require "proxyshard.flows.map"

local ngx = ngx -- luacheck: ignore (the nginx global, when inside nginx)

local type = type
local tostring = tostring
local format = string.format
local date = os.date

local M = {}

M.SHARED_DICT = "proxyshard_locks"
M.NGINX_POLL = 0.05

-- path (or dict key) → { release = fn, depth = n }: what this process holds
local held = {}

local function core() return require "proxyshard.core" end

--- Who we are, for the lock file: { pid, host, command, started_at }.
function M.holder(command)
  local me = core().process()
  return { pid = me.pid, host = me.host, command = command or "proxyshard (the library)",
    started_at = date("!%Y-%m-%dT%H:%M:%SZ") }
end

local function describe(h)
  if type(h) ~= "table" then return "another run" end
  local pid = type(h.pid) == "number" and format("%d", h.pid) or "?" -- JSON may read it back as 4242.0
  return format("pid %s on %s (%s), since %s", pid, tostring(h.host or "?"),
    tostring(h.command or "?"), tostring(h.started_at or "?"))
end

local function busy(where, holder, wait)
  return errors.new("locked", format("another run is spending for this account: %s%s; nothing was sent "
    .. "(the lock: %s)", describe(holder), wait > 0 and format(", still after %s s", wait) or "", where),
    { holder = holder, lock = where })
end

-- flock on the account's lock file.
local function take_file(path, wait, me)
  local lk, why = core().lock(path, wait)
  if not lk then
    if why ~= "busy" then return nil, errors.invalid("lock", format("cannot be taken (%s)", tostring(why))) end
    local f = io.open(path, "r")
    local text = f and f:read("*a")
    if f then f:close() end
    return nil, busy(path, text and json.decode(text), wait)
  end
  lk:write(json.encode(me) .. "\n")
  return function() lk:close() end
end

-- An `add` with an expiry in a shared dict, polled until `wait` is over.
local function take_dict(key, wait, me, ttl)
  local dict = ngx.shared[M.SHARED_DICT]
  if not dict then
    return nil, errors.invalid("lock", format("inside nginx needs `lua_shared_dict %s 1m;` in the http block",
      M.SHARED_DICT))
  end
  ngx.update_time()
  local text, deadline = json.encode(me), ngx.now() + wait
  while true do
    local ok, err = dict:add(key, text, ttl)
    if ok then
      return function()
        -- held past its expiry, it may be another worker's by now (the text
        -- names the worker's pid): let go of ours only
        if dict:get(key) == text then dict:delete(key) end
      end
    end
    if err ~= "exists" then return nil, errors.invalid("lock", "cannot be taken: " .. tostring(err)) end
    ngx.update_time()
    if ngx.now() >= deadline then return nil, busy("lua_shared_dict " .. M.SHARED_DICT, json.decode(
      dict:get(key) or "null"), wait) end
    -- a phase that cannot sleep (init, log...) is the caller's error, as a value
    local slept, why = pcall(ngx.sleep, M.NGINX_POLL)
    if not slept then return nil, errors.new("phase", "waiting for the lock needs a phase that can sleep: "
      .. tostring(why)) end
  end
end

--- fn(...) under the lock of `client`'s account when `jobs.lock` (the
-- checked options of proxyshard.check.settings.jobs) asks for it, let go
-- after, even when fn raises; `ttl`: inside nginx, seconds the lock may be
-- held at most (the call's time and its settle window, with room).
function M.around(client, jobs, ttl, fn, ...)
  if not jobs.lock then return fn(...) end
  return M.held(client, { dir = jobs.state_dir, wait = jobs.lock_wait, ttl = ttl }, fn, ...)
end

--- fn(...) under the lock of `client`'s account (taken with M.take's
-- `opts`), let go after, even when fn raises. Returns fn's first two
-- values, or nil, err when the lock could not be taken.
function M.held(client, opts, fn, ...)
  local release, err = M.take(client, opts)
  if not release then return nil, err end
  local results = { concurrent.pcall(fn, ...) } -- a map item may yield inside (Lua 5.1 too)
  release()
  if not results[1] then error(results[2], 0) end
  return results[2], results[3]
end

--- Take the lock of `client`'s account. opts: dir (the state directory, or
-- nil for the default), wait (seconds, default 0), command (for the lock
-- file), ttl (inside nginx: seconds after which a lock is given up, for a
-- worker that died holding it; default 120). Returns a release function,
-- or nil, err (kind `locked`, with err.holder, when another run holds it).
function M.take(client, opts)
  opts = opts or {}
  local wait = opts.wait or 0
  local me = M.holder(opts.command)
  local where, take
  if settings.in_nginx() then
    where = "proxyshard:" .. state.account(client)
    take = function() return take_dict(where, wait, me, opts.ttl or 120) end
  else
    local dir, err = state.dir(opts.dir or client.jobs.state_dir)
    if not dir then return nil, err end
    where = state.path(dir, client, "lock")
    take = function() return take_file(where, wait, me) end
  end
  local h = held[where]
  if not h then
    local release, err = take()
    if not release then return nil, err end
    h = { release = release, depth = 0 }
    held[where] = h
  end
  h.depth = h.depth + 1
  local done = false
  return function()
    if done then return end
    done = true
    h.depth = h.depth - 1
    if h.depth == 0 then
      held[where] = nil
      h.release()
    end
  end
end

return M
