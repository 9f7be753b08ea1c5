--- An order's details as GET /user/api/orders/{id} returned them:
-- add-on lines, p0f slot use, prices (money values) and status.
local base = require "proxyshard.model.base"
local setmetatable = setmetatable
local tostring = tostring
local ipairs = ipairs
local format = string.format
local concat = table.concat
local addon_line = require "proxyshard.model.addon_line"

local M = {}

--- The products whose orders are IPs: their quantity is the IP count,
-- and they have a proxy list (the command's orders and proxies use it).
M.IP_PRODUCTS = { ["Datacenter Proxy"] = true, ["ISP Proxy"] = true }
local IP_PRODUCTS = M.IP_PRODUCTS

-- order 12345 (Datacenter Proxy, monthly, active, 5 IPs, expires 2026-12-01T09:00:00Z, auto-renewal on):
-- p0f_slots: 3 × $0.30; p0f slots 1/3 used, 3 next period
local function describe(self)
  local about = {}
  for _, v in ipairs({ "product_name", "cycle_name", "status" }) do
    if self[v] then about[#about + 1] = self[v] end
  end
  if self.quantity and IP_PRODUCTS[self.product_name] then
    about[#about + 1] = format("%d IP%s", self.quantity, self.quantity == 1 and "" or "s")
  end
  if self.expires_at then about[#about + 1] = "expires " .. self.expires_at end
  if self.auto_renewal ~= nil then about[#about + 1] = "auto-renewal " .. (self.auto_renewal and "on" or "off") end
  local head = format("order %s (%s)", tostring(self.order_id), concat(about, ", "))
  local parts = {}
  for _, line in ipairs(self.addons) do parts[#parts + 1] = tostring(line) end
  if self.p0f_slots_available then
    parts[#parts + 1] = format("p0f slots %s/%s used, %s next period", tostring(self.p0f_slots_used or "?"),
      tostring(self.p0f_slots_available), tostring(self.p0f_slots_next or "?"))
  end
  if #parts == 0 then return head .. ": no add-ons" end
  return head .. ": " .. concat(parts, "; ")
end

local OrderInfo = base.class("proxyshard.order_info", describe)

--- Wrap the converted `order` object (see proxyshard.shapes.order).
function M.new(fields)
  fields.addons = addon_line.list(fields.addons or {})
  return setmetatable(fields, OrderInfo)
end

--- The add-on line for `key` ("p0f_slots"), or nil when the order has none.
function OrderInfo:addon_line(key)
  return addon_line.find(self.addons, key)
end

--- Free p0f slots: signature slots bought and not yet taken by an IP.
function OrderInfo:p0f_slots_free()
  if self.p0f_slots_available == nil or self.p0f_slots_used == nil then return nil end
  local free = self.p0f_slots_available - self.p0f_slots_used
  return free > 0 and free or 0
end

return M
