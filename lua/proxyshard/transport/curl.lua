--- The default transport: libcurl through proxyshard.core.
-- One session (one libcurl easy handle) per transport, so consecutive
-- requests reuse the kept-alive connection. For client:map, batches:
-- a core.multi whose easy handles share their connections, several
-- requests at once (see docs/transport.md, "Batches").
local core = require "proxyshard.core"

local setmetatable = setmetatable
local ipairs = ipairs
local pairs = pairs

local M = {}

local Transport = { __name = "proxyshard.transport.curl" }
Transport.__index = Transport

local Batch = { __name = "proxyshard.transport.curl.batch" }
Batch.__index = Batch

--- The response headers the client reads: proxyshard.engine.response says which;
-- the others are not turned into Lua strings unless asked for (headers = "all").
M.READ_HEADERS = require("proxyshard.engine.response").HEADERS

--- opts: max_response_bytes, ca_file, proxy (a proxy URL, or nil for none: the environment's proxy
-- variables are never read here; see proxyshard.check.proxy), no_proxy; headers: "all" (default) to
-- return every response header, "read" for READ_HEADERS only.
function M.new(opts)
  local config = {
    max_response_bytes = opts.max_response_bytes,
    ca_file = opts.ca_file,
    proxy = opts.proxy,
    no_proxy = opts.no_proxy,
    -- the headers every request reads back (the others are not made Lua strings)
    response_headers = opts.headers == "read" and M.READ_HEADERS or nil,
  }
  return setmetatable({
    session = core.session(config),
    config = config,
  }, Transport)
end

-- libcurl's CURLE_COULDNT_RESOLVE_HOST
local COULDNT_RESOLVE_HOST = 6

local function tag(terr)
  if terr and terr.code == COULDNT_RESOLVE_HOST then terr.resolve_failed = true end
  return terr
end

--- One attempt, bounded as a whole by req.timeout (CURLOPT_TIMEOUT_MS
-- covers connect, send and the whole answer). proxyshard.core takes the
-- transport interface's request as it is (timeouts in seconds).
function Transport:request(req)
  local res, terr = self.session:perform(req)
  if terr then tag(terr) end
  return res, terr
end

--- A batch for client:map: a core.multi with this transport's options and
-- at most opts.concurrency connections to the host. The multi of the last
-- batch closed is kept (with its connections) for the next batch of the
-- same concurrency.
function Transport:batch(opts)
  local n = opts.concurrency
  local multi = self.idle_multi
  if multi and self.idle_concurrency == n then
    self.idle_multi = nil
  else
    local config = { max_host_connections = n }
    for k, v in pairs(self.config) do config[k] = v end
    multi = core.multi(config)
  end
  return setmetatable({ transport = self, multi = multi, concurrency = n }, Batch)
end

--- Start one attempt: its id, or nil, terr when it could not start.
function Batch:start(req)
  return self.multi:start(req)
end

--- Drive the attempts until one ends or `seconds` pass: a list of
-- { id =, res = } and { id =, terr = }.
function Batch:wait(seconds)
  local done = self.multi:wait(seconds)
  for _, d in ipairs(done) do tag(d.terr) end
  return done
end

--- Abandon an attempt under way.
function Batch:cancel(id)
  return self.multi:cancel(id)
end

function Batch:close()
  local multi = self.multi
  if not multi then return end
  self.multi = nil
  local t = self.transport
  if multi:running() == 0 and not t.closed and not t.idle_multi then
    t.idle_multi, t.idle_concurrency = multi, self.concurrency
  else
    multi:close()
  end
end

function Transport:close()
  self.closed = true
  self.session:close()
  if self.idle_multi then
    self.idle_multi:close()
    self.idle_multi = nil
  end
end

Transport.__close = Transport.close

function Transport.__tostring()
  return "proxyshard.transport.curl (" .. core.curl_version .. ")"
end

--- Name of what is underneath, for the User-Agent.
function M.describe()
  return "libcurl/" .. core.curl_version
end

return M
