--- The transport chosen inside nginx: non-blocking, per request by phase.
-- lua-resty-http when it is installed and the phase has cosockets; else
-- an nginx subrequest to the internal location the user configured; and
-- in a phase with neither (init, set, log, header and body filters…) a
-- clear error — never a silent fall back to blocking libcurl, which would
-- stall every connection of the worker.
local resty_http = require "proxyshard.transport.resty_http"
local subrequest = require "proxyshard.transport.subrequest"

local ngx = ngx -- luacheck: ignore (the nginx global)

local setmetatable = setmetatable
local format = string.format
local error = error
local tostring = tostring

local M = {}

local Transport = { __name = "proxyshard.transport.nginx" }
Transport.__index = Transport

--- opts.use: "auto" (resty if installed, and the subrequest location if
-- given), "resty" or "subrequest"; opts.location for subrequests;
-- keepalive_timeout, keepalive_pool for lua-resty-http; max_response_bytes
-- for both.
function M.new(opts)
  local self = setmetatable({}, Transport)
  local use = opts.use or "auto"
  if (use == "auto" and resty_http.library()) or use == "resty" then
    self.resty = resty_http.new(opts)
  end
  if (use == "auto" or use == "subrequest") and opts.location then
    self.subrequest = subrequest.new { location = opts.location, max_response_bytes = opts.max_response_bytes }
  elseif use == "subrequest" then
    error("proxyshard: transport \"subrequest\" needs the subrequest_location option", 3)
  end
  if not self.resty and not self.subrequest then
    error("proxyshard: inside nginx, install lua-resty-http or give subrequest_location "
      .. "(an internal location that proxy_passes to the API); transport = \"curl\" would "
      .. "block the whole worker, so it is used only when asked for by name", 3)
  end
  return self
end

function Transport:request(req)
  local phase = ngx.get_phase()
  if self.resty and resty_http.PHASES[phase] then return self.resty:request(req) end
  if self.subrequest and subrequest.PHASES[phase] then return self.subrequest:request(req) end
  return nil, {
    kind = "phase",
    message = format("cannot call the API in nginx's %s phase, which has no %s; run the call in "
      .. "a timer (ngx.timer.at(0, fn)) or in a rewrite, access or content handler", phase,
      self.resty and "cosockets" or "subrequests"),
    request_sent = false,
  }
end

function Transport.close() end

--- What is underneath, for the User-Agent.
function M.describe()
  return "ngx_lua/" .. tostring(ngx.config and ngx.config.ngx_lua_version or "?")
end

return M
