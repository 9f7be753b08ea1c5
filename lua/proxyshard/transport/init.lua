--- The transport a client sends through: an object given by the user
-- (docs/transport.md), or one by name. "auto" (the default) is libcurl,
-- except inside nginx, where it is the non-blocking nginx transport;
-- blocking libcurl inside nginx only when named "curl".
-- @module proxyshard.transport
local settings = require "proxyshard.check.settings"

local type = type
local require = require

local M = {}

--- The transport for checked settings `s` (proxyshard.check.settings),
-- and a few words about it for the User-Agent (nil for the user's own).
function M.pick(s)
  local t = s.transport
  if type(t) == "table" then return t end
  if t == "auto" then t = settings.in_nginx() and "nginx" or "curl" end
  if t == "curl" then
    local curl = require "proxyshard.transport.curl"
    return curl.new {
      max_response_bytes = s.max_response_bytes, ca_file = s.ca_file,
      proxy = s.proxy and s.proxy.url, no_proxy = s.proxy and s.proxy.no_proxy,
      -- only the headers the client reads, unless a hook shows them all
      headers = s.on_response and "all" or "read",
    }, curl.describe()
  end
  local nginx_transport = require "proxyshard.transport.nginx"
  return nginx_transport.new {
    use = t == "nginx" and "auto" or t,
    location = s.subrequest_location,
    max_response_bytes = s.max_response_bytes,
    keepalive_pool = s.keepalive_pool,
    keepalive_timeout = s.keepalive_timeout * 1000, -- lua-resty-http counts milliseconds
  }, nginx_transport.describe()
end

return M
