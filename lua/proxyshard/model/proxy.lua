--- One proxy IP of a DC/ISP order, as GET /user/api/proxies/active lists it.
-- The proxy password is kept in the table but never printed.
local setmetatable = setmetatable
local base = require "proxyshard.model.base"
local export = require "proxyshard.model.proxy_export"
local format = string.format
local tostring = tostring

local M = {}

-- 203.0.113.10 (active, signature linux, http :8080, socks :1080)
local function describe(self)
  return format("%s (%s, signature %s, http :%s, socks :%s)", self.ip or "?", self.status or "?",
    self.signature or "none", tostring(self.http_port or "?"), tostring(self.socks_port or "?"))
end

local Proxy = base.class("proxyshard.proxy", describe)

--- proxy:url{ scheme = "http" }: "http://user:pass@203.0.113.10:8080" —
-- credentials percent-encoded, an IPv6 address in brackets; the scheme
-- (http, https, socks4, socks4a, socks5, socks5h) picks the port. nil, err
-- for another scheme.
Proxy.url = export.url

--- A list of proxies: printed a line each, and
-- `list:format(fmt [, { scheme = "socks5" }])` — the text of the list in
-- a format proxy tools read: "txt", "url", "csv", "json" or a template
-- ("{ip}:{port}:{username}:{password}"); see proxyshard.model.proxy_export.
local ProxyList = base.list_class("proxyshard.proxy_list", { format = export.format })

function M.new(fields)
  return setmetatable(fields, Proxy)
end

--- Wrap each item of a converted list, in a list that formats.
function M.list(items)
  return base.list(Proxy, items, ProxyList)
end

return M
