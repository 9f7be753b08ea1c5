--- The client: holds the token and the transport, builds every request,
-- and turns every answer into a converted table or an error value.
local errors = require "proxyshard.errors"
local json = require "proxyshard.json"
local url = require "proxyshard.url"
local convert = require "proxyshard.convert"
local version = require "proxyshard.version"
local shapes = require "proxyshard.shapes"
local account = require "proxyshard.model.account"

local type = type
local error = error
local tostring = tostring
local setmetatable = setmetatable
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

  local transport = opts.transport
  local below
  if transport == nil then
    local curl = require "proxyshard.transport.curl"
    transport = curl.new {
      timeout = timeout, connect_timeout = connect_timeout,
      max_response_bytes = max_bytes, ca_file = opts.ca_file,
    }
    below = curl.describe()
  elseif type(transport) ~= "table" or type(transport.request) ~= "function" then
    bad_option("transport", "must be an object with a request method")
  end

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
    user_agent = format("proxyshard-lua/%s (%s%s)", version, _VERSION,
      below and ("; " .. below) or ""),
  }
  return setmetatable(self, Client)
end

local STATUS_KINDS = {
  [400] = "validation", [401] = "auth", [403] = "forbidden", [404] = "not_found",
  [422] = "validation", [429] = "rate_limited",
}

local function kind_for_status(status)
  if STATUS_KINDS[status] then return STATUS_KINDS[status] end
  if status >= 500 and status <= 599 then return "server" end
  return "api"
end

local function snippet(text)
  if #text > 200 then return sub(text, 1, 200) .. "…" end
  return text
end

-- An error for an HTTP answer that is not a success.
function Client:status_error(call, res)
  local decoded = json.decode(res.body)
  local message
  if type(decoded) == "table" and type(decoded.message) == "string" and decoded.message ~= "" then
    message = self.redact(decoded.message)
  else
    local ctype = res.headers and res.headers["content-type"]
    message = format("HTTP %d%s", res.status,
      ctype and (" with a " .. ctype:match("^[^;]*") .. " body") or "")
  end
  return errors.new(kind_for_status(res.status), message, {
    status = res.status, method = call.method, path = call.path,
    body = res.body ~= "" and self.redact(snippet(res.body)) or nil,
  })
end

--- Perform one API call.
-- call = { method, path, query = { {name, value}, ... }, body = table,
--          shape = proxyshard.shapes entry, mutates = bool }
-- Returns the answer converted by `shape`, or `nil, err`.
function Client:call(call)
  local target = self.base_url .. call.path
  if call.query and #call.query > 0 then target = target .. "?" .. url.query(call.query) end
  local headers = {
    "Authorization: " .. self.authorization(),
    "Accept: application/json",
    "User-Agent: " .. self.user_agent,
  }
  local body
  if call.method ~= "GET" and call.method ~= "DELETE" then
    -- the API (actix-web) rejects a body-less POST without Content-Length,
    -- so every POST/PATCH carries a JSON body, "{}" at least
    body = json.encode(call.body or {})
    headers[#headers + 1] = "Content-Type: application/json"
    headers[#headers + 1] = "Content-Length: " .. #body
  end
  local where = { method = call.method, path = call.path }

  local res, terr = self.transport:request {
    method = call.method, url = target, headers = headers, body = body,
    timeout = self.timeout, connect_timeout = self.connect_timeout,
    no_resend = call.mutates or false,
  }
  if not res then
    local kind = terr.kind
    local message = self.redact(tostring(terr.message))
    if kind == "too_large" then
      kind = "decode"
    elseif kind ~= "timeout" and kind ~= "tls" then
      kind = "network"
    end
    return nil, errors.new(kind, message, {
      method = call.method, path = call.path, request_sent = terr.request_sent,
    })
  end

  if res.status < 200 or res.status > 299 then
    return nil, self:status_error(where, res)
  end
  local decoded, derr = json.decode(res.body)
  if type(decoded) ~= "table" then
    local ctype = res.headers and res.headers["content-type"] or "no content type"
    return nil, errors.new("decode", format("answer is not a JSON object (%s; %s)", ctype,
      derr or type(decoded)), {
      status = res.status, method = call.method, path = call.path,
      body = self.redact(snippet(res.body)),
    })
  end
  if decoded.success == false then
    local msg = type(decoded.message) == "string" and self.redact(decoded.message) or "success: false"
    return nil, errors.new("api", msg, { status = res.status, method = call.method, path = call.path })
  end
  local out, cerr = convert.object(decoded, call.shape)
  if not out then
    return nil, errors.new("decode", cerr, { status = res.status, method = call.method, path = call.path })
  end
  return out
end

--- The Order handle for an id (no request is made).
function Client:order(id)
  return require("proxyshard.order").new(self, id)
end

--- GET /user/api/me: the account's email, active order count and wallet balance.
function Client:me()
  local r, err = self:call { method = "GET", path = "/user/api/me", shape = shapes.me_response }
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
