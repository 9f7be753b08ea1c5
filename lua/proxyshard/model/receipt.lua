--- What an add-on purchase returned.
local setmetatable = setmetatable
local tostring = tostring
local format = string.format
local addon_line = require "proxyshard.model.addon_line"

local M = {}

local Receipt = { __name = "proxyshard.receipt" }
Receipt.__index = Receipt

--- `r` is the converted purchase answer; `quote` the quote checked against
-- max_total before buying, when there was one.
function M.new(order_id, addon_key, add_qty, r, quote)
  return setmetatable({
    order_id = order_id,
    addon_key = addon_key,
    add_qty = add_qty,
    message = r.message,
    addons_price_paid = r.addons_price_paid, -- running total for the order
    addons = addon_line.list(r.addons),
    quote = quote,
  }, Receipt)
end

--- The add-on line this purchase was for, when the answer listed it.
function Receipt:line()
  return addon_line.find(self.addons, self.addon_key)
end

function Receipt:__tostring()
  local text = format("bought %s +%d on order %s", self.addon_key, self.add_qty, self.order_id)
  if self.quote and self.quote.total then text = text .. " for " .. tostring(self.quote.total) end
  if self.addons_price_paid then
    text = text .. "; add-ons paid on this order: " .. tostring(self.addons_price_paid)
  end
  if self.message then text = text .. " (" .. self.message .. ")" end
  return text
end

return M
