--- One proxy IP of a DC/ISP order, as GET /user/api/proxies/active lists it.
-- The proxy password is kept in the table but never printed.
local setmetatable = setmetatable
local base = require "proxyshard.model.base"
local format = string.format
local tostring = tostring

local M = {}

-- 203.0.113.10 (active, signature linux, http :8080, socks :1080)
local function describe(self)
  return format("%s (%s, signature %s, http :%s, socks :%s)", self.ip or "?", self.status or "?",
    self.signature or "none", tostring(self.http_port or "?"), tostring(self.socks_port or "?"))
end

local Proxy = base.class("proxyshard.proxy", describe)

function M.new(fields)
  return setmetatable(fields, Proxy)
end

--- Wrap each item of a converted list.
function M.list(items)
  return base.list(Proxy, items)
end

return M
