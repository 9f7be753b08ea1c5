--- What a spend reads of the account to see its effect, one table per
-- kind, named by the spending row's `evidence` (proxyshard.operations):
--   read(handle, values, call)   → the state now, or nil, err
--   what(handle, before)         → that state in words, for messages
--   compare(before, after, values, handle) → "done" | "unchanged" | "other",
--                                  and for "other" a message and fields
--   confirmed(before, after, values, handle) → the answer a spend that the
--                                  re-reading confirmed is reported as
--   charged(before, after)       → the money it took, when the state shows it
--   answered(r)                  → the state after, from the spend's own
--                                  answer, when the answer carries it
-- The spending flow reads `before` when it reconciles or when the price
-- was an estimate (to see the charge), and proxyshard.flows.reconcile
-- applies the rules after an unknown outcome.
-- @module proxyshard.flows.evidence
local operations = require "proxyshard.operations"
local engine = require "proxyshard.engine"
local pages = require "proxyshard.flows.pages"

local ipairs = ipairs
local tostring = tostring
local format = string.format

local M = {}

local FETCH = operations.find("order", "fetch")
local ORDERS = operations.find("client", "orders")
local ME = operations.find("client", "me")

--- An add-on purchase: the add-on's quantity, and what the order paid for
-- add-ons (its answer carries the new total).
M.addon = {
  read = function(addon, _, call)
    local info, err = engine.invoke(addon.order, FETCH, call)
    if not info then return nil, err end
    local line = info:addon_line(addon.key)
    return { qty = line and line.qty or 0, addons_price_paid = info.addons_price_paid, addons = info.addons }
  end,
  what = function(addon, before) return format("the order's %s (%d)", addon.key, before.qty) end,
  compare = function(before, after, values, addon)
    local grown = after.qty - before.qty
    if grown == values.add_qty then return "done" end
    if grown == 0 then return "unchanged" end
    return "other", format("the order's %s went from %d to %d meanwhile, which is not +%d: something else "
      .. "changed it", addon.key, before.qty, after.qty, values.add_qty),
      { observed_qty = after.qty, expected_qty = before.qty + values.add_qty }
  end,
  confirmed = function(before, after)
    return { message = format("bought: confirmed by re-reading the order (%d → %d)", before.qty, after.qty),
      addons_price_paid = after.addons_price_paid, addons = after.addons }
  end,
  charged = function(before, after)
    if before.addons_price_paid and after.addons_price_paid then
      return after.addons_price_paid - before.addons_price_paid
    end
  end,
  answered = function(r) return { addons_price_paid = r.addons_price_paid } end,
}

-- The orders of every status: { { order_id, product_name }, ... } (a list,
-- so that a journal can keep it: proxyshard.jobs.journal).
local function order_ids(client, call)
  local all, err = pages.read(client, ORDERS, { status = "all" }, call)
  if not all then return nil, err end
  local list = {}
  for i, o in ipairs(all) do list[i] = { order_id = o.order_id, product_name = o.product_name } end
  return list
end

-- The orders in `after` that `before` has not.
local function new_orders(before, after)
  local known, new = {}, {}
  for _, o in ipairs(before) do known[o.order_id] = true end
  for _, o in ipairs(after) do
    if not known[o.order_id] then new[#new + 1] = o end
  end
  return new
end

--- A new order: the list of orders; exactly one new order of the product
-- is the purchase.
M.new_order = {
  read = function(client, _, call) return order_ids(client, call) end,
  what = function() return "the order list" end,
  compare = function(before, after, values)
    local new = new_orders(before, after)
    if #new == 0 then return "unchanged" end
    if #new == 1 and new[1].product_name == values.product then return "done" end
    return "other", format("%d new orders appeared meanwhile, not one %s: something else bought too", #new,
      tostring(values.product)), { new_orders = new }
  end,
  confirmed = function(before, after)
    return { order_id = new_orders(before, after)[1].order_id, message = "bought: confirmed by the order list" }
  end,
}

--- A renewal: the order's status and expiry; what it paid for the period
-- (price_paid, and what its add-ons' total grew by).
M.renewal = {
  read = function(order, _, call)
    local info, err = engine.invoke(order, FETCH, call)
    if not info then return nil, err end
    return { status = info.status, expires_at = info.expires_at, price_paid = info.price_paid,
      addons_price_paid = info.addons_price_paid }
  end,
  what = function(order, before)
    return format("order %d (%s, until %s)", order.id, tostring(before.status), tostring(before.expires_at))
  end,
  compare = function(before, after, _, order)
    if after.expires_at ~= before.expires_at or (after.status == "active" and before.status ~= "active") then
      return "done"
    end
    if after.status == before.status then return "unchanged" end
    return "other", format("order %d went from %s to %s meanwhile: something else changed it", order.id,
      tostring(before.status), tostring(after.status))
  end,
  confirmed = function(_, after)
    return { message = format("renewed: confirmed by re-reading the order (%s, until %s)", tostring(after.status),
      tostring(after.expires_at)) }
  end,
  charged = function(before, after)
    if after.price_paid and before.addons_price_paid and after.addons_price_paid then
      return after.price_paid + (after.addons_price_paid - before.addons_price_paid)
    end
  end,
}

--- Extra traffic: the order's quantity (GB) and the wallet, which is
-- where the charge shows (exact unless something else spends meanwhile).
M.traffic = {
  read = function(order, _, call)
    local info, err = engine.invoke(order, FETCH, call)
    if not info then return nil, err end
    local me
    me, err = engine.invoke(order.client, ME, call)
    if not me then return nil, err end
    return { quantity = info.quantity, wallet = me.wallet_balance }
  end,
  what = function(order, before) return format("order %d (%s GB)", order.id, tostring(before.quantity)) end,
  compare = function(before, after, values, order)
    if before.quantity == nil or after.quantity == nil then
      return "other", format("order %d does not show its quantity: cannot tell", order.id)
    end
    local grown = after.quantity - before.quantity
    if grown == values.gb then return "done" end
    if grown == 0 then return "unchanged" end
    return "other", format("order %d went from %d to %d GB meanwhile, which is not +%d: something else changed "
      .. "it", order.id, before.quantity, after.quantity, values.gb)
  end,
  confirmed = function(before, after)
    return { message = format("bought: confirmed by re-reading the order (%d → %d GB)", before.quantity,
      after.quantity) }
  end,
  charged = function(before, after)
    if before.wallet and after.wallet then return before.wallet - after.wallet end
  end,
}

return M
