--- The client, the handle every other is made from: it holds the settings,
-- the transport and the clock; its calls and child makers come from the
-- handle tree (proxyshard.handles); map and close are written here.
-- @module proxyshard.handles.client
local settings = require "proxyshard.check.settings"
local calls = require "proxyshard.engine.call"
local version = require "proxyshard.version"
local handles = require "proxyshard.handles"

local ngx = ngx -- luacheck: ignore (the nginx global, when inside nginx)

local setmetatable = setmetatable
local format = string.format
local require = require

local M = {}

--- The options every call takes as its last, optional argument.
M.CALL_OPTIONS = settings.CALL_OPTIONS

local Client = handles.classes.client

-- The wait between retries: blocking, except inside client:map, where it
-- lets the other items go on (proxyshard.flows.map); under nginx the
-- client uses ngx.sleep. (flows.map is loaded when first needed: a run of
-- one call does without it.)
local function sleep(seconds)
  require("proxyshard.flows.map").sleep(seconds)
end

local function nginx_now()
  ngx.update_time()
  return ngx.now()
end

local in_nginx = settings.in_nginx

--- Create a client. See proxyshard.new for the options.
function M.new(opts)
  local s = settings.check(opts)
  local transport, below = require("proxyshard.transport").pick(s)
  local nginx = in_nginx()
  local base = s.base
  local self = setmetatable({
    base = base,
    base_url = base.scheme .. "://" .. base.host .. (base.port and (":" .. base.port) or "") .. base.path,
    timeout = s.timeout,
    connect_timeout = s.connect_timeout,
    transport = transport,
    retry = s.retry,
    sleep = s.sleep or (nginx and ngx.sleep) or sleep,
    random = s.random or math.random,
    now = s.now or (nginx and ngx.time) or os.time,
    -- seconds on a clock that never jumps, for deadlines
    clock = s.clock or (nginx and nginx_now) or require("proxyshard.core").monotonic,
    hooks = { on_request = s.on_request, on_response = s.on_response },
    jobs = s.jobs, -- the lock and journal of its spends (proxyshard.jobs)
    user_agent = format("proxyshard-lua/%s (%s%s)", version, _VERSION,
      below and ("; " .. below) or ""),
  }, Client)
  calls.keep_secret(self, s.token)
  return self
end

--- Release the connection. The client cannot be used afterwards.
function Client:close()
  if self.transport and self.transport.close then self.transport:close() end
end
Client.__close = Client.close

function Client:__tostring()
  return format("proxyshard client for %s (token set)", self.base_url)
end

--- fn(item, i) for every item of `list`, at most opts.concurrency (default
-- 10, at most 100) at once, each item's calls concurrent with the others';
-- results in list order, { value =, err = }. See proxyshard.flows.map.
function Client.map(_, list, fn, opts)
  return require("proxyshard.flows.map").map(list, fn, opts)
end

return M
