--- What an add-on purchase returned.
local tostring = tostring
local format = string.format
local addon_line = require "proxyshard.model.addon_line"
local base = require "proxyshard.model.base"

local M = {}

local function describe(self)
  local text = format("bought %s +%d on order %s", self.addon_key, self.add_qty, self.order_id) .. base.cost(self)
  if self.addons_price_paid then
    text = text .. "; add-ons paid on this order: " .. tostring(self.addons_price_paid)
  end
  if self.message then text = text .. " (" .. self.message .. ")" end
  return text
end

local Receipt = base.class("proxyshard.receipt", describe)

--- `r` is the converted purchase answer (or what reconciliation found);
-- `values` the purchase's checked values. What it cost (charged,
-- quote, overcharged) is added by the spending flow (proxyshard.flows.spend).
function M.new(r, values)
  r.order_id, r.addon_key, r.add_qty = values.order_id, values.addon_key, values.add_qty
  r.addons = addon_line.list(r.addons) -- addons_price_paid: the running total for the order
  return base.wrap(Receipt, r)
end

--- The add-on line this purchase was for, when the answer listed it.
function Receipt:line()
  return addon_line.find(self.addons, self.addon_key)
end

return M
