--- One call's loop: its options checked once into a Call (the retry
-- policy and one deadline over every attempt and wait), the request sent
-- through the client's transport, retried only where that is safe, each
-- answer read by proxyshard.engine.response, the hooks told (redacted).
-- Every public call enters `begin` once; a flow of several requests (a
-- purchase: its price, reads, the purchase) hands the same Call to each.
-- @module proxyshard.engine.call
local errors = require "proxyshard.errors"
local json = require "proxyshard.wire.json"
local response = require "proxyshard.engine.response"
local retry = require "proxyshard.engine.retry"
local settings = require "proxyshard.check.settings"
local options = require "proxyshard.check.options"
local redact = require "proxyshard.wire.redact"

local type = type
local tostring = tostring
local setmetatable = setmetatable
local ipairs = ipairs
local pairs = pairs
local pcall = pcall
local format = string.format
local find = string.find
local min = math.min
local loaded = package.loaded

local M = {}

-- What must not be reachable from the client table (pairs, a dump, a
-- debugger's "print client"): the Authorization line and the redactor
-- that knows the token. Keyed weakly by client.
local secrets = setmetatable({}, { __mode = "k" })

--- Keep `client`'s token where only the call loop reads it: the header
-- lines every request starts with (made once per client) and the redactor.
-- @local
function M.keep_secret(client, token)
  local accept, agent = "Accept: application/json", "User-Agent: " .. client.user_agent
  local auth, json_type = "Authorization: Bearer " .. token, "Content-Type: application/json"
  local redactor = redact.new(token)
  secrets[client] = {
    -- the header lines of every request, made once (the transports only read them)
    headers = { auth, accept, agent },
    json_headers = { auth, accept, agent, json_type },
    anonymous_headers = { accept, agent },
    anonymous_json_headers = { accept, agent, json_type },
    redact = redactor,
    -- what reading an answer needs of the client (proxyshard.engine.response)
    seen = { redact = redactor, now = client.now, base_url = client.base_url },
  }
end

--- `client`'s redactor (text -> text, every spelling of its token
-- replaced), for what prints a client's results (the REPL).
-- @local
function M.redactor(client)
  return secrets[client].redact
end

--- Whether any client's server has echoed its token (then M.echoed looks
-- up which).
-- @local
M.any_echoed = false

--- `client`'s redactor once its server has echoed the token in an
-- answer (results from then on are marked with it: proxyshard.handles), or
-- nil while it never has.
-- @local
function M.echoed(client)
  if not M.any_echoed then return nil end -- speed: no server echoed any token yet
  local secret = secrets[client]
  return secret and secret.echoed and secret.redact or nil
end

--- The header line that holds `client`'s token, for a digest of it (the
-- name of the account's files, proxyshard.jobs.state): never printed.
-- @local
function M.secret_line(client)
  return secrets[client].headers[1]
end

-- A call's options, checked once: the retry policy and the deadline that
-- bounds the whole call, attempts and waits included. A flow of several
-- requests (a purchase: quote, reads, the purchase) begins once and hands
-- the same Call to each request, so they share the deadline and the policy.
local Call = { __name = "proxyshard.call_options" }
Call.__index = Call

local NO_OPTIONS = {}

--- Check `opts` (a table of names from `known`, default CALL_OPTIONS) and
-- start the clock. Returns the Call, or nil, err. Entered once per public
-- call: what runs under it takes the Call, never opts again.
function M.begin(self, opts, known)
  -- Speed: no options (the usual call) means the client's own policy and
  -- timeout; nothing to check or copy
  if opts == nil then
    local timeout = self.timeout
    -- (not a tail call of setmetatable: LuaJIT cannot compile a return
    -- to the caller's frame straight from a fast function)
    local call = setmetatable({ policy = self.retry, timeout = timeout, deadline = self.clock() + timeout,
      opts = NO_OPTIONS }, Call)
    return call
  end
  if type(opts) ~= "table" then
    return nil, errors.invalid("opts", "must be a table, e.g. { max_retries = 0 }")
  end
  local unknown = options.unknown(opts, known or settings.CALL_OPTIONS, "opts")
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
function M.extend(self, call, seconds)
  return setmetatable({ policy = call.policy, timeout = seconds, deadline = self.clock() + seconds,
    opts = call.opts }, Call)
end

local REDACTED_AUTH = "Authorization: Bearer [redacted]"

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

--- Perform one request of a call on `self` (the client), retrying what is
-- safe to retry, all within the call's deadline.
-- call = { method, path, query = "a=1&b=x%20y" (encoded) or nil, body =
--          table, shape = the answer's shape (proxyshard.shapes' notation),
--          mutates = bool, auth = false to send no token } (the request
--          proxyshard.engine.plan makes)
-- ctx: the Call it runs under (M.begin).
-- Returns the answer converted by `shape`, or `nil, err`; err.attempts
-- says how many requests were sent.
function M.perform(self, call, ctx)
  local policy = ctx.policy
  local secret = secrets[self]

  local query = call.query
  local target = query and (self.base_url .. call.path .. "?" .. query) or (self.base_url .. call.path)
  -- the health probes take no token: none is sent where none is needed
  local headers = call.auth == false and secret.anonymous_headers or secret.headers
  local body
  if call.body then
    body = json.encode(call.body)
    headers = call.auth == false and secret.anonymous_json_headers or secret.json_headers
  elseif call.method ~= "GET" and call.method ~= "DELETE" then
    -- the document gives it no body, and the API (actix-web) refuses a
    -- POST without a length: an empty one, "Content-Length: 0" and no
    -- Content-Type (the length is the transport's to send: docs/transport.md)
    body = ""
  end
  local left = ctx.deadline - self.clock()
  local req = {
    method = call.method, url = target, headers = headers, body = body,
    -- libcurl must not resend a state-changing request on its own either
    no_resend = call.mutates or false,
    timeout = left, connect_timeout = min(self.connect_timeout, left),
  }
  local seen = secret.seen
  local hooks = self.hooks
  local on_request, on_response = hooks.on_request, hooks.on_response

  local attempt, last = 0, nil
  while true do
    attempt = attempt + 1
    if attempt > 1 then
      left = ctx.deadline - self.clock()
      req.timeout = left
      req.connect_timeout = min(self.connect_timeout, left)
    end
    if left <= 0 then return out_of_time(call, ctx, attempt, last) end
    if on_request then
      notify(on_request, { method = req.method, url = req.url, headers = public_request_headers(headers),
        body = body, attempt = attempt })
    end
    -- inside client:map, handed to the scheduler (proxyshard.flows.map);
    -- with flows.map not loaded there is no client:map running (a run of
    -- one call does without loading it)
    local concurrent = loaded["proxyshard.flows.map"]
    local res, terr
    if concurrent then
      res, terr = concurrent.request(self.transport, req)
    else
      res, terr = self.transport:request(req)
    end
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
    -- an answer that holds the token marks the client's results from now
    -- on (the scan is one plain search for an answer with no escapes)
    if res and res.body and not secret.echoed and secret.redact(res.body) ~= res.body then
      secret.echoed, M.any_echoed = true, true
    end
    local value, err = response.interpret(call, res, terr, seen, req)
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

return M
