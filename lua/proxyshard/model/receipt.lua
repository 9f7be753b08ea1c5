--- What an add-on purchase returned.
local tostring = tostring
local format = string.format
local addon_line = require "proxyshard.model.addon_line"
local base = require "proxyshard.model.base"

local M = {}

local Receipt = { __name = "proxyshard.receipt" }
Receipt.__index = Receipt

-- What the purchase cost, when the order's add-on total is known from
-- before and after it: `charged`; and `overcharged` = { quoted, charged }
-- when that is more than the quote the cap was checked against.
local function check_charge(receipt, before, quote)
  local paid_before = before and before.addons_price_paid
  local paid_after = receipt.addons_price_paid
  if not paid_before or not paid_after then return end
  receipt.charged = paid_after - paid_before
  if quote and quote.total and receipt.charged > quote.total then
    receipt.overcharged = { quoted = quote.total, charged = receipt.charged }
  end
end

--- `r` is the converted purchase answer; `quote` the quote checked against
-- max_total before buying, when there was one; `before` the add-on as read
-- before buying (with reconcile), when it was read.
function M.new(order_id, addon_key, add_qty, r, quote, before)
  r.order_id, r.addon_key, r.add_qty, r.quote = order_id, addon_key, add_qty, quote
  r.addons = addon_line.list(r.addons) -- addons_price_paid: the running total for the order
  local receipt = base.wrap(Receipt, r)
  check_charge(receipt, before, quote)
  return receipt
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
  if self.overcharged then
    text = text .. format("; OVERCHARGED: quoted %s, charged %s", tostring(self.overcharged.quoted),
      tostring(self.overcharged.charged))
  end
  return text
end

return M
