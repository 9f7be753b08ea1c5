--- What changing an order's billing cycle returned. The 1.1.0 answer has
-- the new prices (money values); the 1.0.0 answer only an `order` object,
-- whose id is taken.
local base = require "proxyshard.model.base"

local format = string.format
local tostring = tostring

local M = {}

local CycleChange = base.class("proxyshard.cycle_change", function(self)
  local text = format("order %s: billing cycle changed to %s", tostring(self.order_id or "?"), self.cycle or "?")
  if self.final_price then text = text .. ", now " .. tostring(self.final_price) end
  if self.message then text = text .. " (" .. self.message .. ")" end
  return text
end)

--- The CycleChange for the converted answer `r` of change_cycle (`values` has the cycle asked).
function M.new(r, values)
  return base.wrap(CycleChange, {
    order_id = r.order_id or (r.order and r.order.order_id) or values.order_id,
    cycle = values.cycle, message = r.message, original_price = r.original_price,
    final_price = r.final_price, discount_percent = r.discount_percent,
  })
end

return M
