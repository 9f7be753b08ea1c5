--- The options of proxyshard.new, checked: every name known, every value
-- of the right type and range, before a client exists. A bad option is a
-- programmer error, so it raises — an invalid_argument error value, so
-- that a pcall caller still gets `kind`, `argument` and the message.
local errors = require "proxyshard.errors"
local options = require "proxyshard.check.options"
local retry = require "proxyshard.engine.retry"
local url = require "proxyshard.wire.url"
local redact = require "proxyshard.wire.redact"
local integer = require "proxyshard.wire.integer"
local proxy = require "proxyshard.check.proxy"

local type = type
local ipairs = ipairs
local error = error
local pcall = pcall
local tostring = tostring
local format = string.format
local find = string.find

local M = {}

M.DEFAULT_BASE_URL = "https://user-api.proxyshard.com"
M.DEFAULTS = {
  timeout = 30,                   -- seconds for a whole call, retries and waits included
  connect_timeout = 10,           -- seconds to connect (within timeout)
  max_response_bytes = 1048576,   -- our answers are a few KiB; a MiB is plenty
  -- inside nginx (lua-resty-http): connections kept per worker and host,
  -- and how long an idle one is kept. 64: a worker serving 20 calls at
  -- once never opens a new connection for a call a pooled one could take
  keepalive_pool = 64,
  keepalive_timeout = 60,
}
M.MAX_KEEPALIVE_POOL = 10000
M.MAX_RESPONSE_BYTES = 1073741824 -- 1 GiB: beyond it, a typo

M.TRANSPORT_NAMES = { auto = true, curl = true, nginx = true, resty = true, subrequest = true }

M.KNOWN = options.set({
  "token", "base_url", "allow_insecure", "timeout", "connect_timeout", "max_response_bytes",
  "ca_file", "proxy", "no_proxy", "transport", "subrequest_location",
  "sleep", "random", "now", "clock", "on_request", "on_response",
  "lock", "lock_wait", "journal", "state_dir", "keepalive_pool", "keepalive_timeout",
}, retry.DEFAULTS)

--- Are we inside nginx's Lua module? (Asked without loading the nginx
-- transports: outside nginx they are never needed.)
function M.in_nginx()
  return type(ngx) == "table" and type(ngx.get_phase) == "function" -- luacheck: ignore
end
local in_nginx = M.in_nginx

--- The options every call takes as its last, optional argument.
M.CALL_OPTIONS = options.set({ "timeout" }, retry.DEFAULTS)

local function bad(name, message)
  error(errors.invalid(name, message), 4)
end

--- Seconds: a number in (0, 3600].
function M.seconds(v, name)
  if type(v) ~= "number" or v ~= v or v <= 0 or v > 3600 then
    return nil, errors.invalid(name, "must be a number of seconds in (0, 3600], got " .. tostring(v))
  end
  return v
end

local function seconds(opts, name)
  if opts[name] == nil then return M.DEFAULTS[name] end
  local v, err = M.seconds(opts[name], name)
  if not v then error(err, 3) end
  return v
end

-- Text that ends up in a header or a libcurl option: a CR or LF would
-- split it, a NUL would cut it short.
local function clean_string(opts, name, what)
  local v = opts[name]
  if v == nil then return nil end
  if type(v) ~= "string" or v == "" then bad(name, "must be " .. what) end
  if find(v, "[%z\1-\31\127]") then bad(name, "contains control characters (CR, LF, NUL...)") end
  return v
end

local function token(opts)
  local t = opts.token
  if type(t) ~= "string" or t == "" then
    bad("token", "is required (a non-empty string; e.g. os.getenv(\"PROXYSHARD_TOKEN\"))")
  end
  -- never echo the value: it is the secret
  if find(t, "[%z\1-\31\127]") then bad("token", "contains control characters") end
  -- a token this short could not be told apart in what is printed, so
  -- it could not be kept out of it (proxyshard.wire.redact): refused
  if #t < redact.MIN_TOKEN then
    bad("token", format("is too short (%d bytes; a ProxyShard token has at least %d)", #t, redact.MIN_TOKEN))
  end
  return t
end

local function base(opts)
  local s = opts.base_url
  if s == nil then s = M.DEFAULT_BASE_URL end
  if type(s) ~= "string" then bad("base_url", "must be a string") end
  local b = url.parse_base(s)
  if not b then
    bad("base_url", "must look like https://host[:port][/path], got " .. format("%q", s))
  end
  if b.scheme == "http" and not url.is_loopback(b.host) and not opts.allow_insecure then
    -- the token would cross the network in clear text
    bad("base_url", "is plain http to a non-loopback host; use https, or allow_insecure = true")
  end
  return b
end

-- An integer option of `what` (bytes, connections) from min to max; its
-- default when absent.
local function whole(opts, name, min, max, what)
  local v = opts[name]
  if v == nil then return M.DEFAULTS[name] end
  if not integer.is(v) or v < min or v > max then
    bad(name, format("must be an integer number of %s from %d to %d, got %s", what, min, max, tostring(v)))
  end
  return v
end

local function fn(opts, name)
  local v = opts[name]
  if v ~= nil and type(v) ~= "function" then bad(name, "must be a function") end
  return v
end

local function boolean(opts, name)
  local v = opts[name]
  if v ~= nil and type(v) ~= "boolean" then bad(name, "must be true or false") end
  return v or false
end

local function transport(opts)
  local t = opts.transport
  if type(t) == "table" then
    if type(t.request) ~= "function" then bad("transport", "must be an object with a request method") end
    return t
  end
  if t == nil then return "auto" end
  if not M.TRANSPORT_NAMES[t] then
    bad("transport", "must be an object or one of auto, curl, nginx, resty, subrequest")
  end
  return t
end

--- The run's lock and journal of spends (proxyshard.jobs), as a client
-- option or a spending call's: lock = true, or a state directory (a
-- string); lock_wait = seconds to wait for another run (default 0);
-- journal = true, or a state directory; state_dir = where both live (else
-- proxyshard.jobs.state's default). Returns { lock, lock_wait, journal,
-- state_dir } with what `opts` gives over `given` (the client's), or nil, err.
function M.jobs(opts, given)
  given = given or {}
  local out = { lock = given.lock, lock_wait = given.lock_wait or 0, journal = given.journal,
    state_dir = given.state_dir }
  for _, name in ipairs({ "lock", "journal" }) do
    local v = opts[name]
    if v ~= nil then
      if type(v) == "string" and v ~= "" and not v:find("[\r\n%z]") then
        out[name], out.state_dir = true, v
      elseif type(v) == "boolean" then
        out[name] = v
      else
        return nil, errors.invalid(name, "must be true, false or a state directory (a path)")
      end
    end
  end
  if opts.state_dir ~= nil then
    local v = opts.state_dir
    -- false: the caller found none (proxyshard.jobs.state says so when one is needed)
    if v ~= false and (type(v) ~= "string" or v == "" or v:find("[\r\n%z]")) then
      return nil, errors.invalid("state_dir", "must be a path")
    end
    out.state_dir = v
  end
  if opts.lock_wait ~= nil then
    local v = opts.lock_wait
    if type(v) ~= "number" or v ~= v or v < 0 or v > 3600 then
      return nil, errors.invalid("lock_wait", "must be a number of seconds from 0 to 3600, got " .. tostring(v))
    end
    out.lock_wait = v
  end
  return out
end

--- The checked settings of `opts` (raises on any bad option).
function M.check(opts)
  if type(opts) ~= "table" then
    error(errors.invalid("options", "must be a table { token = ..., ... }"), 3)
  end
  local unknown = options.unknown(opts, M.KNOWN, "options")
  if unknown then error(unknown, 3) end
  local s = {
    token = token(opts),
    allow_insecure = boolean(opts, "allow_insecure"),
    base = base(opts),
    timeout = seconds(opts, "timeout"),
    connect_timeout = seconds(opts, "connect_timeout"),
    max_response_bytes = whole(opts, "max_response_bytes", 1024, M.MAX_RESPONSE_BYTES, "bytes"),
    keepalive_pool = whole(opts, "keepalive_pool", 1, M.MAX_KEEPALIVE_POOL, "connections"),
    keepalive_timeout = seconds(opts, "keepalive_timeout"),
    ca_file = clean_string(opts, "ca_file", "a path to a PEM file"),
    transport = transport(opts),
    subrequest_location = clean_string(opts, "subrequest_location",
      "a location path such as \"/proxyshard\""),
    sleep = fn(opts, "sleep"),
    random = fn(opts, "random"),
    now = fn(opts, "now"),
    clock = fn(opts, "clock"),
    on_request = fn(opts, "on_request"),
    on_response = fn(opts, "on_response"),
  }
  if s.connect_timeout > s.timeout then s.connect_timeout = s.timeout end
  local err
  s.jobs, err = M.jobs(opts)
  if not s.jobs then error(err, 3) end
  s.proxy, err = proxy.settings(opts.proxy, opts.no_proxy, s.base, s.allow_insecure)
  if not s.proxy then error(err, 3) end
  if s.proxy.url and s.transport ~= "curl" and (s.transport ~= "auto" or in_nginx()) then
    -- only libcurl goes through a proxy: refused rather than ignored
    bad("proxy", "applies to the libcurl transport only (transport = \"curl\")")
  end
  local ok, policy = pcall(retry.policy, opts)
  if not ok then error(policy, 3) end
  s.retry = policy
  return s
end

return M
