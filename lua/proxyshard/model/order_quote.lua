--- The price of a new order (GET /user/api/orders/calculate). Money
-- fields are money values; `total` is what the purchase would cost:
-- `total_with_addons` when the answer gives it, else `final_price` when no
-- add-ons were asked for (else nil: a cap cannot be checked on it).
local base = require "proxyshard.model.base"

local format = string.format
local tostring = tostring

local M = {}

local OrderQuote = base.class("proxyshard.order_quote", function(self)
  local text = format("%s ×%s: %s", self.product or "?", tostring(self.quantity or 1), tostring(self.total or "?"))
  if self.discount_percent and self.discount_percent ~= 0 then
    text = text .. format(" (%s before a %d%% discount)", tostring(self.original_price or "?"), self.discount_percent)
  end
  return text
end)

--- The OrderQuote for the converted calculate answer `r` (`values`: what was asked).
function M.new(r, values)
  values = values or {}
  r.product, r.quantity = values.product, values.quantity
  r.total = r.total_with_addons
  if r.total == nil and values.addons == nil then r.total = r.final_price end
  return base.wrap(OrderQuote, r)
end

return M
