--- The client: holds the token and the transport, builds every request,
-- and turns every answer into a converted table or an error value.
local errors = require "proxyshard.errors"
local json = require "proxyshard.wire.json"
local response = require "proxyshard.engine.response"
local retry = require "proxyshard.engine.retry"
local version = require "proxyshard.version"
local settings = require "proxyshard.check.settings"
local options = require "proxyshard.check.options"
local redact = require "proxyshard.wire.redact"
local concurrent = require "proxyshard.flows.map"

local ngx = ngx -- luacheck: ignore (the nginx global, when inside nginx)

local type = type
local tostring = tostring
local setmetatable = setmetatable
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local getmetatable = getmetatable
local format = string.format
local find = string.find
local min = math.min

local M = {}


--- The options every call takes as its last, optional argument.
M.CALL_OPTIONS = settings.CALL_OPTIONS

local Client = { __name = "proxyshard.client" }
Client.__index = Client

-- What must not be reachable from the client table (pairs, a dump, a
-- debugger's "print client"): the Authorization line and the redactor
-- that knows the token. Keyed weakly by client.
local secrets = setmetatable({}, { __mode = "k" })

-- The wait between retries: blocking, except inside client:map, where it
-- lets the other items go on (proxyshard.flows.map); under nginx the
-- client uses ngx.sleep.
local function sleep(seconds)
  concurrent.sleep(seconds)
end

-- Seconds on a clock that never jumps, for deadlines (the C module is
-- loaded on the first reading, then called straight)
local core_monotonic
local function monotonic()
  if not core_monotonic then core_monotonic = require("proxyshard.core").monotonic end
  return core_monotonic()
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
    clock = s.clock or (nginx and nginx_now) or monotonic,
    hooks = { on_request = s.on_request, on_response = s.on_response },
    user_agent = format("proxyshard-lua/%s (%s%s)", version, _VERSION,
      below and ("; " .. below) or ""),
  }, Client)
  -- the header lines every request starts with, made once per client
  local accept, agent = "Accept: application/json", "User-Agent: " .. self.user_agent
  secrets[self] = {
    headers = { "Authorization: Bearer " .. s.token, accept, agent },
    anonymous_headers = { accept, agent },
    redact = redact.new(s.token),
  }
  return self
end

-- A call's options, checked once: the retry policy and the deadline that
-- bounds the whole call, attempts and waits included. A flow of several
-- requests (a purchase: quote, reads, the purchase) begins once and hands
-- the same Call to each request, so they share the deadline and the policy.
local Call = { __name = "proxyshard.call_options" }
Call.__index = Call

local NO_OPTIONS = {}

--- Check `opts` (a table of names from `known`, default CALL_OPTIONS, or a
-- Call already begun) and start the clock. Returns the Call, or nil, err.
function Client:begin(opts, known)
  if getmetatable(opts) == Call then return opts end
  -- Speed: no options (the usual call) means the client's own policy and
  -- timeout; nothing to check or copy
  if opts == nil then
    local timeout = self.timeout
    return setmetatable({ policy = self.retry, timeout = timeout, deadline = self.clock() + timeout,
      opts = NO_OPTIONS }, Call)
  end
  if type(opts) ~= "table" then
    return nil, errors.invalid("opts", "must be a table, e.g. { max_retries = 0 }")
  end
  local unknown = options.unknown(opts, known or M.CALL_OPTIONS, "opts")
  if unknown then return nil, unknown end
  local timeout = self.timeout
  if opts.timeout ~= nil then
    local err
    timeout, err = settings.seconds(opts.timeout, "timeout")
    if not timeout then return nil, err end
  end
  local ok, policy = pcall(retry.policy, opts, self.retry)
  if not ok then return nil, policy end
  return setmetatable({ policy = policy, timeout = timeout, deadline = self.clock() + timeout, opts = opts }, Call)
end

--- A Call like `call` but with a deadline `seconds` from now (reconciling
-- after an unknown outcome gets a window of its own).
function Client:extend(call, seconds)
  return setmetatable({ policy = call.policy, timeout = seconds, deadline = self.clock() + seconds,
    opts = call.opts }, Call)
end

local REDACTED_AUTH = "Authorization: Bearer [redacted]"
local ALL_ORDERS_PARAMS = { status = true }

-- Call a user hook; a hook that raises must not break a purchase half-way,
-- so its error is dropped.
local function notify(fn, event)
  pcall(fn, event)
end

local function public_request_headers(headers)
  local out = {}
  for i, line in ipairs(headers) do
    out[i] = find(line, "^[Aa]uthorization:") and REDACTED_AUTH or line
  end
  return out
end

local function public_response_headers(headers, redactor)
  if not headers then return nil end
  local out = {}
  for name, value in pairs(headers) do out[name] = redactor(value) end
  return out
end

local function out_of_time(call, ctx, attempt, last)
  if last then
    last.message = last.message .. format("; no time left for another try within timeout = %s s", ctx.timeout)
    return nil, last
  end
  return nil, errors.new("timeout", format("the call's time ran out (timeout = %s s) before the request "
    .. "was sent", ctx.timeout), { method = call.method, path = call.path, request_sent = false,
    attempts = attempt - 1 })
end

--- Perform one API call, retrying what is safe to retry, all within one
-- deadline.
-- call = { method, path, query = "a=1&b=x%20y" (encoded) or nil, body =
--          table, shape = the answer's shape (proxyshard.engine.convert), mutates =
--          bool, auth = false to send no token } (engine.request makes it)
-- opts (per call, optional): CALL_OPTIONS, or a Call from Client:begin.
-- Returns the answer converted by `shape`, or `nil, err`; err.attempts
-- says how many requests were sent.
function Client:call(call, opts)
  local ctx, cerr = self:begin(opts)
  if not ctx then return nil, cerr end
  local policy = ctx.policy
  local secret = secrets[self]

  local target = self.base_url .. call.path
  if call.query then target = target .. "?" .. call.query end
  -- the health probes take no token: none is sent where none is needed
  local fixed = call.auth == false and secret.anonymous_headers or secret.headers
  local headers = { fixed[1], fixed[2], fixed[3] }
  local body
  if call.method ~= "GET" and call.method ~= "DELETE" then
    -- the API (actix-web) rejects a body-less POST without Content-Length,
    -- so every POST/PATCH carries a JSON body, "{}" at least (its length
    -- is the transport's to send: docs/transport.md)
    body = json.encode(call.body or {})
    headers[#headers + 1] = "Content-Type: application/json"
  end
  local req = {
    method = call.method, url = target, headers = headers, body = body,
    -- libcurl must not resend a state-changing request on its own either
    no_resend = call.mutates or false,
  }
  local seen = { redact = secret.redact, now = self.now, body = body }
  local on_request, on_response = self.hooks.on_request, self.hooks.on_response

  local attempt, last = 0, nil
  while true do
    attempt = attempt + 1
    local left = ctx.deadline - self.clock()
    if left <= 0 then return out_of_time(call, ctx, attempt, last) end
    req.timeout = left
    req.connect_timeout = min(self.connect_timeout, left)
    if on_request then
      notify(on_request, { method = req.method, url = req.url, headers = public_request_headers(headers),
        body = body, attempt = attempt })
    end
    -- inside client:map, handed to the scheduler (proxyshard.flows.map)
    local res, terr = concurrent.request(self.transport, req)
    if on_response then
      local redactor = secret.redact
      notify(on_response, {
        method = req.method, url = req.url, attempt = attempt,
        status = res and res.status, headers = res and public_response_headers(res.headers, redactor),
        body = res and redactor(res.body), time = res and res.total_time, reused = res and res.reused,
        error = terr and { kind = terr.kind, message = redactor(tostring(terr.message)),
          request_sent = terr.request_sent },
      })
    end
    local value, err = response.interpret(call, res, terr, seen)
    if value ~= nil then return value end
    err.attempts = attempt
    if not err.retryable or attempt > policy.max_retries then return nil, err end
    local wait = retry.delay(policy, attempt, err.retry_after, self.random)
    if wait == nil then return nil, err end
    if wait >= ctx.deadline - self.clock() then return out_of_time(call, ctx, attempt + 1, err) end
    last = err
    self.sleep(wait)
  end
end

--- The Order handle for an id (no request is made). A bad id gives a
-- handle whose every call returns nil, err (and the err as a second value).
function Client:order(id)
  return require("proxyshard.handles.order").new(self, id)
end

--- The handle of a residential proxy type, "standart" or "premium" (no
-- request is made).
function Client:residential(proxy_type)
  return require("proxyshard.handles.residential").new(self, proxy_type)
end

-- the client is a handle too: it binds no parameter
function Client.bound()
  return {}
end

--- Buy a new order; see proxyshard.flows.purchase_order.
function Client:purchase_order(params, opts)
  return require("proxyshard.flows.purchase_order").purchase(self, params, opts)
end

--- Every order with a status ({ status = "active" }), all pages read.
function Client:all_orders(params, opts)
  if params ~= nil and type(params) ~= "table" then
    return nil, errors.invalid("params", "must be a table { status = ... }")
  end
  params = params or {}
  local unknown = options.unknown(params, ALL_ORDERS_PARAMS, "all_orders's parameters")
  if unknown then return nil, unknown end
  local handle = require "proxyshard.handles"
  return handle.all_pages(self, require("proxyshard.operations").find("client", "orders"), "orders", opts,
    { status = params.status })
end

--- Release the connection. The client cannot be used afterwards.
function Client:close()
  if self.transport and self.transport.close then self.transport:close() end
end
Client.__close = Client.close

function Client:__tostring()
  return format("proxyshard client for %s (token set)", self.base_url)
end

-- me, products, available, quote_order, orders, health, live
require("proxyshard.engine").bind(Client, "client")

--- fn(item, i) for every item of `list`, at most opts.concurrency (default
-- 10, at most 100) at once, each item's calls concurrent with the others';
-- results in list order, { value =, err = }. See proxyshard.flows.map.
function Client.map(_, list, fn, opts)
  return concurrent.map(list, fn, opts)
end

return M
