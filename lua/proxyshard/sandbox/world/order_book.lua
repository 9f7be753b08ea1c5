--- The sandbox's orders: finding them, what their answers show, and the
-- orders a purchase creates. The orders live in the state's data
-- (`sb.data.orders`); nothing here keeps state of its own.
local json = require "proxyshard.wire.json"
local ip_address = require "proxyshard.wire.ip"
local catalog = require "proxyshard.sandbox.world.catalog"
local reply = require "proxyshard.sandbox.reply"

local null = json.null
local array = json.array

local M = {}

--- `v`, or null for a nullable field the document lets the API write as
-- null (the answers wrote null for these before there was a renderer).
local function or_null(v)
  if v == nil then return null end
  return v
end
M.or_null = or_null

function M.find(data, id)
  for _, order in ipairs(data.orders) do
    if order.order_id == id then return order end
  end
  return nil
end

--- The order `id`, or 404.
function M.get(sb, id)
  return M.find(sb.data, id) or reply.not_found("Order not found")
end

--- The text an IP is compared by: its canonical spelling, or the text
-- itself when it is no IP (then it matches nothing of an order but itself).
function M.ip_key(text)
  return ip_address.canonical(text) or text
end

--- The order's IP entries by canonical IP.
function M.ips_by_key(order)
  local by = {}
  for _, entry in ipairs(order.ips) do by[M.ip_key(entry.ip)] = entry end
  return by
end

function M.addon_line(order, key)
  for _, line in ipairs(order.addons) do
    if line.addon_key == key then return line end
  end
  return nil
end

function M.signed_count(order)
  local n = 0
  for _, entry in ipairs(order.ips) do
    if entry.signature ~= nil then n = n + 1 end
  end
  return n
end

--- An add-on line's quantity in the next period, which a renewal charges
-- and then applies: a pending downgrade's quantity, none after a pending
-- cancel, else what there is now (0 without a line).
function M.next_qty(line)
  if not line then return 0 end
  local pending = line.pending
  if pending and pending.action == "downgrade" then return pending.next_qty end
  if pending and pending.action == "cancel" then return 0 end
  return line.qty
end

--- The order's add-on lines as the answers write them (`pending` null
-- when there is none).
function M.addon_lines(order)
  local out = array()
  for i, line in ipairs(order.addons) do
    out[i] = {
      addon_key = line.addon_key, catalog_id = line.catalog_id, qty = line.qty,
      price_per_unit = line.price_per_unit, pending = or_null(line.pending),
    }
  end
  return out
end

--- The order of GET /orders/{id}.
function M.view(order)
  local line = M.addon_line(order, "p0f_slots")
  return {
    order_id = order.order_id, product_name = order.product_name, cycle_name = order.cycle_name,
    quantity = order.quantity, price_paid = order.price_paid, addons_price_paid = order.addons_price_paid,
    addons = M.addon_lines(order),
    p0f_slots_available = line and line.qty or 0,
    p0f_slots_used = M.signed_count(order),
    p0f_slots_next = M.next_qty(line),
    status = order.status,
    created_at = or_null(order.created_at), expires_at = or_null(order.expires_at),
    promo_code = or_null(order.promo_code), auto_renewal = or_null(order.auto_renewal),
    tag = or_null(order.tag),
  }
end

--- The order as GET /orders lists it (product and cycle ids from the
-- fixture's products, which the state checked at start).
function M.summary(fixture, order)
  local product = catalog.product(fixture, order.product_name)
  local cycle = catalog.cycle(product, order.cycle_name)
  return {
    order_id = order.order_id, product_id = product.product_id, product_name = order.product_name,
    cycle_id = cycle.cycle_id, cycle_name = order.cycle_name,
    expires_at = or_null(order.expires_at), auto_renewal = or_null(order.auto_renewal), tag = or_null(order.tag),
  }
end

--- The IPs of a new Datacenter or ISP order: from 2001:db8::/32 (RFC 3849),
-- one /64 per order, credentials as the fixture's.
function M.new_ips(order_id, n)
  local out = array()
  for i = 1, n do
    local address = ("2001:db8:%x:%x::%x"):format(order_id >> 16, order_id & 0xffff, i)
    out[i] = {
      ip = ip_address.canonical(address),
      username = "sbx" .. order_id,
      password = "sandbox-pass-" .. order_id .. "-" .. i,
      http_port = 8000 + i,
      socks_port = 9000 + i,
    }
  end
  return out
end

return M
