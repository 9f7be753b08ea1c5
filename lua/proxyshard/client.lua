--- The client: holds the token and the transport, builds every request,
-- and turns every answer into a converted table or an error value.
local errors = require "proxyshard.errors"
local json = require "proxyshard.json"
local url = require "proxyshard.url"
local response = require "proxyshard.response"
local retry = require "proxyshard.retry"
local version = require "proxyshard.version"
local shapes = require "proxyshard.shapes"
local account = require "proxyshard.model.account"
local nginx_transport = require "proxyshard.transport.nginx"

local ngx = ngx -- luacheck: ignore (the nginx global, when inside nginx)

local type = type
local error = error
local tostring = tostring
local setmetatable = setmetatable
local ipairs = ipairs
local pcall = pcall
local format = string.format
local find = string.find
local sub = string.sub

local M = {}

M.DEFAULT_BASE_URL = "https://user-api.proxyshard.com"
M.DEFAULTS = {
  timeout = 30,                   -- seconds for the whole exchange
  connect_timeout = 10,           -- seconds to connect (within timeout)
  max_response_bytes = 1048576,   -- our answers are a few KiB; a MiB is plenty
}

local Client = { __name = "proxyshard.client" }
Client.__index = Client

-- Option errors are programmer errors: raise, with an invalid_argument
-- error value so that a pcall caller still gets kind and argument.
local function bad_option(name, message)
  error(errors.invalid(name, message), 3)
end

local function check_seconds(opts, name)
  local v = opts[name]
  if v == nil then return M.DEFAULTS[name] end
  if type(v) ~= "number" or v ~= v or v <= 0 or v > 3600 then
    bad_option(name, "must be a number of seconds in (0, 3600]")
  end
  return v
end

local function check_token(token)
  if type(token) ~= "string" or token == "" then
    bad_option("token", "is required (a non-empty string; e.g. os.getenv(\"PROXYSHARD_TOKEN\"))")
  end
  -- a control character would split or corrupt the Authorization header
  if find(token, "[%z\1-\31\127]") then
    bad_option("token", "contains control characters")
  end
end

local function check_base_url(s, allow_insecure)
  if type(s) ~= "string" then bad_option("base_url", "must be a string") end
  local base = url.parse_base(s)
  if not base then
    bad_option("base_url", "must look like https://host[:port][/path], got " .. format("%q", s))
  end
  if base.scheme == "http" and not url.is_loopback(base.host) and not allow_insecure then
    -- the token would cross the network in clear text
    bad_option("base_url", "is plain http to a non-loopback host; use https, or allow_insecure = true")
  end
  return base
end

local function check_function(opts, name)
  local fn = opts[name]
  if fn ~= nil and type(fn) ~= "function" then bad_option(name, "must be a function") end
  return fn
end

-- The wait between retries: libcurl's world is blocking anyway; under
-- nginx the caller passes ngx.sleep.
local function sleep(seconds)
  require("proxyshard.core").sleep(seconds)
end

local TRANSPORT_NAMES = { auto = true, curl = true, nginx = true, resty = true, subrequest = true }

-- The transport: an object given by the user, or one by name. "auto" (the
-- default) is libcurl, except inside nginx, where it is the non-blocking
-- nginx transport; blocking libcurl inside nginx only when named "curl".
local function make_transport(opts, settings)
  local t = opts.transport
  if type(t) == "table" then
    if type(t.request) ~= "function" then bad_option("transport", "must be an object with a request method") end
    return t
  end
  t = t or "auto"
  if not TRANSPORT_NAMES[t] then
    bad_option("transport", "must be an object or one of auto, curl, nginx, resty, subrequest")
  end
  if opts.subrequest_location ~= nil and type(opts.subrequest_location) ~= "string" then
    bad_option("subrequest_location", "must be a location path such as \"/proxyshard\"")
  end
  if t == "auto" then t = nginx_transport.available() and "nginx" or "curl" end
  if t == "curl" then
    local curl = require "proxyshard.transport.curl"
    return curl.new(settings), curl.describe()
  end
  return nginx_transport.new {
    use = t == "nginx" and "auto" or t,
    location = opts.subrequest_location,
    max_response_bytes = settings.max_response_bytes,
  }, nginx_transport.describe()
end

--- Create a client. See proxyshard.new for the options.
function M.new(opts)
  if type(opts) ~= "table" then
    error(errors.invalid("options", "must be a table { token = ..., ... }"), 2)
  end
  check_token(opts.token)
  local base = check_base_url(opts.base_url or M.DEFAULT_BASE_URL, opts.allow_insecure)
  local timeout = check_seconds(opts, "timeout")
  local connect_timeout = check_seconds(opts, "connect_timeout")
  if connect_timeout > timeout then connect_timeout = timeout end
  local max_bytes = opts.max_response_bytes or M.DEFAULTS.max_response_bytes
  if type(max_bytes) ~= "number" or max_bytes < 1024 then
    bad_option("max_response_bytes", "must be a number >= 1024")
  end
  if opts.ca_file ~= nil and type(opts.ca_file) ~= "string" then
    bad_option("ca_file", "must be a path string")
  end

  local transport, below = make_transport(opts, {
    timeout = timeout, connect_timeout = connect_timeout,
    max_response_bytes = max_bytes, ca_file = opts.ca_file,
  })
  local in_nginx = nginx_transport.available()

  local self = {
    -- the token lives in a closure, not a field: it cannot be printed,
    -- serialised or dumped by accident along with the client
    authorization = function() return "Bearer " .. opts.token end,
    redact = function(text)
      -- a very short token (a test value like "t") would turn every
      -- message into confetti; real tokens are long
      if #opts.token < 8 then return text end
      local i, j = find(text, opts.token, 1, true)
      while i do
        text = sub(text, 1, i - 1) .. "[redacted]" .. sub(text, j + 1)
        i, j = find(text, opts.token, i + 10, true)
      end
      return text
    end,
    base = base,
    base_url = base.scheme .. "://" .. base.host .. (base.port and (":" .. base.port) or "") .. base.path,
    timeout = timeout,
    connect_timeout = connect_timeout,
    transport = transport,
    retry = retry.policy(opts),
    sleep = check_function(opts, "sleep") or (in_nginx and ngx.sleep) or sleep,
    random = check_function(opts, "random") or math.random,
    now = check_function(opts, "now") or (in_nginx and ngx.time) or os.time,
    hooks = { on_request = check_function(opts, "on_request"), on_response = check_function(opts, "on_response") },
    user_agent = format("proxyshard-lua/%s (%s%s)", version, _VERSION,
      below and ("; " .. below) or ""),
  }
  return setmetatable(self, Client)
end

local REDACTED_AUTH = "Authorization: Bearer [redacted]"

-- Call a user hook with a copy of what it may see; a hook that raises must
-- not break a purchase half-way, so its error is dropped.
function Client:notify(hook, event)
  local fn = self.hooks[hook]
  if fn then pcall(fn, event) end
end

local function public_headers(headers)
  local out = {}
  for i, line in ipairs(headers) do
    out[i] = line:find("^[Aa]uthorization:") and REDACTED_AUTH or line
  end
  return out
end

--- Perform one API call, retrying what is safe to retry.
-- call = { method, path, query = { {name, value}, ... }, body = table,
--          shape = proxyshard.shapes entry, mutates = bool }
-- opts (per call, optional) = { max_retries = n, ... } (see proxyshard.retry)
-- Returns the answer converted by `shape`, or `nil, err`; err.attempts
-- says how many requests were sent.
function Client:call(call, opts)
  local policy = self.retry
  if opts ~= nil then
    if type(opts) ~= "table" then
      return nil, errors.invalid("opts", "must be a table, e.g. { max_retries = 0 }")
    end
    local ok, p = pcall(retry.policy, opts, self.retry)
    if not ok then return nil, p end
    policy = p
  end

  local target = self.base_url .. call.path
  if call.query and #call.query > 0 then target = target .. "?" .. url.query(call.query) end
  local headers = {
    "Authorization: " .. self.authorization(),
    "Accept: application/json",
    "User-Agent: " .. self.user_agent,
  }
  if call.method ~= "GET" and call.method ~= "DELETE" then
    -- the API (actix-web) rejects a body-less POST without Content-Length,
    -- so every POST/PATCH carries a JSON body, "{}" at least
    call.body_text = json.encode(call.body or {})
    headers[#headers + 1] = "Content-Type: application/json"
    headers[#headers + 1] = "Content-Length: " .. #call.body_text
  end
  local req = {
    method = call.method, url = target, headers = headers, body = call.body_text,
    timeout = self.timeout, connect_timeout = self.connect_timeout,
    -- libcurl must not resend a state-changing request on its own either
    no_resend = call.mutates or false,
  }
  local ctx = { redact = self.redact, now = self.now }

  local attempt = 0
  while true do
    attempt = attempt + 1
    self:notify("on_request", { method = req.method, url = req.url, headers = public_headers(headers),
      body = req.body, attempt = attempt })
    local res, terr = self.transport:request(req)
    self:notify("on_response", {
      method = req.method, url = req.url, attempt = attempt,
      status = res and res.status, headers = res and res.headers,
      body = res and self.redact(res.body), time = res and res.total_time, reused = res and res.reused,
      error = terr and { kind = terr.kind, message = self.redact(tostring(terr.message)),
        request_sent = terr.request_sent },
    })
    local value, err = response.interpret(call, res, terr, ctx)
    if value ~= nil then return value end
    err.attempts = attempt
    if not err.retryable or attempt > policy.max_retries then return nil, err end
    local wait = retry.delay(policy, attempt, err.retry_after, self.random)
    if wait == nil then return nil, err end
    self.sleep(wait)
  end
end

--- The Order handle for an id (no request is made).
function Client:order(id)
  return require("proxyshard.order").new(self, id)
end

--- GET /user/api/me: the account's email, active order count and wallet balance.
function Client:me(opts)
  local r, err = self:call({ method = "GET", path = "/user/api/me", shape = shapes.me_response }, opts)
  if not r then return nil, err end
  return account.new(r)
end

--- Release the connection. The client cannot be used afterwards.
function Client:close()
  if self.transport and self.transport.close then self.transport:close() end
end
Client.__close = Client.close

function Client:__tostring()
  return format("proxyshard client for %s (token set)", self.base_url)
end

return M
