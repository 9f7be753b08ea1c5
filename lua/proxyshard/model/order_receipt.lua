--- What buying a new order returned: the new order's id and the server's
-- message; `receipt:order()` is the new order's handle.
local base = require "proxyshard.model.base"

local format = string.format
local tostring = tostring

local M = {}

local OrderReceipt = base.class("proxyshard.order_receipt", function(self)
  local text = format("bought order %s (%s)", tostring(self.order_id or "?"), self.product or "?") .. base.cost(self)
  if self.message then text = text .. " (" .. self.message .. ")" end
  return text
end)

--- The new order's handle (an order handle carrying an error when the
-- answer gave no id).
function OrderReceipt:order()
  return self.client:order(self.order_id)
end

--- `r` the converted answer (or what reconciliation found); `handle`
-- the client, `values.product` the product bought. What it cost is
-- added by the spending flow (proxyshard.flows.spend).
function M.new(r, values, handle)
  return base.wrap(OrderReceipt, { order_id = r.order_id, message = r.message, product = values.product,
    client = handle })
end

return M
