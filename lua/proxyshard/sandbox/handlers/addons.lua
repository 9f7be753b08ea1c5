--- The add-ons of a Datacenter or ISP order (p0f_slots, the only key the
-- document knows): price preview, purchase, a downgrade at the next
-- renewal, and cancelling it.
local catalog = require "proxyshard.sandbox.world.catalog"
local book = require "proxyshard.sandbox.world.order_book"
local reply = require "proxyshard.sandbox.reply"

local bad = reply.bad

local H = {}

local function check_key(sb, key)
  if not sb.fixture.catalog[key] then bad("Unknown addon_key") end
end

local function addon_order(sb, v)
  local order = book.get(sb, v.order_id)
  check_key(sb, v.addon_key)
  if order.status ~= "active" then bad("Order is not active") end
  if not catalog.DC_ISP[order.product_name] then bad("Add-ons are only available for Datacenter and ISP orders") end
  return order
end

-- The price of `add_qty` more units: at the line's own unit price when the
-- order has the add-on (prices are fixed at purchase), else the catalog's.
local function quote(sb, order, key, add_qty)
  local line = book.addon_line(order, key)
  local catalog_id, price = catalog.unit_price(sb.fixture, order.product_name, key)
  if line then catalog_id, price = line.catalog_id, line.price_per_unit end
  if price == nil then bad("Add-on is not available for this product") end
  local current = line and line.qty or 0
  return { success = true, addon_key = key, catalog_id = catalog_id, price_per_unit = price,
    current_qty = current, add_qty = add_qty, new_qty = current + add_qty, add_total = price * add_qty }
end

H["addon.quote"] = function(sb, v)
  return quote(sb, addon_order(sb, v), v.addon_key, v.add_qty)
end

H["addon.purchase"] = function(sb, v, req)
  local order = addon_order(sb, v)
  local q = quote(sb, order, v.addon_key, v.add_qty)
  sb:charge(req, q.add_total, { kind = "addon", order_id = order.order_id, addon_key = v.addon_key, qty = v.add_qty })

  local line = book.addon_line(order, v.addon_key)
  if line then
    line.qty = q.new_qty
  else
    order.addons[#order.addons + 1] = { addon_key = v.addon_key, catalog_id = q.catalog_id, qty = q.new_qty,
      price_per_unit = q.price_per_unit }
  end
  order.addons_price_paid = order.addons_price_paid + q.add_total
  return { success = true, message = "Add-on purchased", addons_price_paid = order.addons_price_paid,
    addons = book.addon_lines(order) }
end

H["addon.schedule_downgrade"] = function(sb, v)
  local order = addon_order(sb, v)
  local line = book.addon_line(order, v.addon_key)
  if not line or line.qty < 1 then bad(v.addon_key .. " add-on is not active") end
  if v.next_qty >= line.qty then bad("next_qty must be less than current qty") end
  line.pending = { action = "downgrade", next_qty = v.next_qty }
  return { success = true, message = "Downgrade scheduled", addons = book.addon_lines(order) }
end

H["addon.cancel_downgrade"] = function(sb, v)
  local order = book.get(sb, v.order_id)
  check_key(sb, v.addon_key)
  local line = book.addon_line(order, v.addon_key)
  if not line or not line.pending then bad("No pending change") end
  line.pending = nil
  return { success = true, message = "Pending downgrade cleared", addons = book.addon_lines(order) }
end

return H
