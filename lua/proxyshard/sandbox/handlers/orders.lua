--- Orders: price and buy one, list them, read one, and what changes an
-- order — renewal, tag, billing cycle, auto-renewal, residential traffic.
-- Handlers take (sb, values, req) and return the answer as a Lua value;
-- every check comes before the first change, and a spend goes through
-- `sb:charge`, which refuses a short wallet before anything moves.
local json = require "proxyshard.wire.json"
local catalog = require "proxyshard.sandbox.world.catalog"
local book = require "proxyshard.sandbox.world.order_book"
local dates = require "proxyshard.sandbox.world.dates"
local traffic = require "proxyshard.sandbox.world.traffic"
local reply = require "proxyshard.sandbox.reply"

local bad = reply.bad
local null = json.null
local format = string.format

local DEFAULT_LIMIT = 20 -- the document's default page size

local H = {}

H["client.quote_order"] = function(sb, v)
  local q = catalog.quote(sb.fixture, v)
  return { original_price = q.original_price, final_price = q.final_price, discount_percent = q.discount_percent,
    addons_price = q.addons_price, total_with_addons = q.total_with_addons }
end

local function stock_of(data, country, product)
  for _, s in ipairs(data.stock) do
    if s.country == country and s.product == product then return s end
  end
  return nil
end

H["client.purchase_order"] = function(sb, v, req)
  local q = catalog.quote(sb.fixture, v)
  local product = q.product
  local dc_isp = catalog.DC_ISP[product.name]
  local stock
  if dc_isp then
    if v.location == nil then bad("location is required for " .. product.name) end
    stock = stock_of(sb.data, v.location, product.name)
    local left = stock and stock.amount or 0
    if left < q.quantity then
      bad(format("Insufficient stock: %d %s left in %s", left, product.name, v.location))
    end
  end
  local id = sb.data.next_order_id
  sb:charge(req, q.total_with_addons, { kind = "order", order_id = id, product = product.name,
    cycle = q.cycle.name, quantity = q.quantity })

  sb.data.next_order_id = id + 1
  if stock then stock.amount = stock.amount - q.quantity end
  if product.proxy_type then
    local account = traffic.open(sb, product.proxy_type)
    account.data = account.data + q.quantity * catalog.GB
  end
  local now = sb:now()
  -- residential plans do not renew (their variants have no auto_renewal)
  local auto_renewal
  if dc_isp then auto_renewal = v.auto_renewal == true end
  sb.data.orders[#sb.data.orders + 1] = {
    order_id = id, product_name = product.name, cycle_name = q.cycle.name, status = "active",
    quantity = q.quantity, price_paid = q.final_price, addons_price_paid = q.addons_price,
    addons = json.array(q.addons), created_at = now,
    expires_at = q.cycle.days and dates.add_days(now, q.cycle.days) or nil,
    promo_code = q.promo_code, auto_renewal = auto_renewal,
    location = v.location,
    ips = dc_isp and book.new_ips(id, q.quantity) or json.array(),
  }
  return { success = true, message = "Order paid successfully", order_id = id }
end

H["client.orders"] = function(sb, v)
  local matching = {}
  for _, order in ipairs(sb.data.orders) do
    if v.status == "all" or order.status == v.status then matching[#matching + 1] = order end
  end
  local offset, limit = v.offset or 0, v.limit or DEFAULT_LIMIT
  local page = json.array()
  for i = offset + 1, math.min(offset + limit, #matching) do
    page[#page + 1] = book.summary(sb.fixture, matching[i])
  end
  local function uri(at)
    return format("/user/api/orders?status=%s&offset=%d&limit=%d", v.status, at, limit)
  end
  return {
    success = true, orders = page, count = #matching,
    prev = offset > 0 and uri(math.max(offset - limit, 0)) or null,
    next = offset + limit < #matching and uri(offset + limit) or null,
  }
end

H["order.fetch"] = function(sb, v)
  return { success = true, order = book.view(book.get(sb, v.order_id)) }
end

-- The percent the order's promo code takes off on `cycle`: 0 without one or
-- when it does not apply there.
local function order_percent(sb, order, cycle)
  if order.promo_code == nil then return 0 end
  return catalog.promo_percent(sb.fixture, order.promo_code, cycle.name) or 0
end

-- What renewing the order's add-ons costs: each line at its next-period
-- quantity (book.next_qty) and its own unit price, with no promo discount
-- (the catalog's rule for add-ons).
local function addons_renewal(order)
  local total = 0
  for _, line in ipairs(order.addons) do total = total + book.next_qty(line) * line.price_per_unit end
  return total
end

-- A renewal renews the add-ons too, in the same charge: the base (the
-- cycle's price × quantity, less the promo) plus the add-ons' next period;
-- then their pending changes take effect.
H["order.renew"] = function(sb, v, req)
  local order = book.get(sb, v.order_id)
  if order.status ~= "on-hold" then
    bad(format("Only on-hold orders can be renewed (order %d is %s)", order.order_id, order.status))
  end
  local cycle = catalog.cycle(catalog.product(sb.fixture, order.product_name), order.cycle_name)
  local base = catalog.discounted(cycle.price * order.quantity, order_percent(sb, order, cycle))
  local addons = addons_renewal(order)
  sb:charge(req, base + addons, { kind = "renewal", order_id = order.order_id, cycle = cycle.name,
    quantity = order.quantity, addons = addons })

  order.status = "active"
  order.price_paid = base
  order.addons_price_paid = order.addons_price_paid + addons
  -- nothing drops an add-on line: one whose next quantity is 0 stays at
  -- qty 0 (a downgrade refuses it as not active, a purchase adds to it)
  for _, line in ipairs(order.addons) do
    line.qty = book.next_qty(line)
    line.pending = nil
  end
  if cycle.days then
    order.expires_at = dates.add_days(dates.later(order.expires_at, sb:now()), cycle.days)
  end
  -- the IPs del-np marked are not renewed
  local kept = json.array()
  for _, entry in ipairs(order.ips) do
    if not entry.delete then kept[#kept + 1] = entry end
  end
  order.ips = kept
  return { success = true, message = "Order renewed successfully" }
end

H["order.set_tag"] = function(sb, v)
  local order = book.get(sb, v.order_id)
  order.tag = v.tag ~= "" and v.tag or nil -- an empty tag clears it
  return { success = true, message = "Order tag updated" }
end

local function dc_isp_order(sb, id, message)
  local order = book.get(sb, id)
  if not catalog.DC_ISP[order.product_name] then bad(message) end
  return order
end

-- The new cycle applies from the next renewal: price_paid and expires_at
-- stay; a promo code that does not apply to it is dropped, as the API does.
H["order.change_cycle"] = function(sb, v)
  local order = dc_isp_order(sb, v.order_id, "Billing cycle can only be changed on Datacenter and ISP orders")
  local cycle = catalog.pick_cycle(catalog.product(sb.fixture, order.product_name), v.cycle)
  local percent = order_percent(sb, order, cycle)
  if percent == 0 then order.promo_code = nil end
  order.cycle_name = cycle.name
  local original = cycle.price * order.quantity
  return { success = true, message = "Billing cycle changed", order_id = order.order_id,
    original_price = original, final_price = catalog.discounted(original, percent), discount_percent = percent }
end

H["order.set_auto_renewal"] = function(sb, v)
  local order = dc_isp_order(sb, v.order_id, "Invalid product for this operation")
  order.auto_renewal = v.enabled
  return { success = true, message = "Auto-renewal updated" }
end

H["order.add_bandwidth"] = function(sb, v, req)
  local order = book.get(sb, v.order_id)
  local product = catalog.product(sb.fixture, order.product_name)
  if not product.proxy_type then bad("Bandwidth can be added to residential orders only") end
  if order.status ~= "active" then bad("Order is not active") end
  local cycle = catalog.cycle(product, order.cycle_name)
  local percent = 0
  if v.promo_code ~= nil then
    local why
    percent, why = catalog.promo_percent(sb.fixture, v.promo_code, cycle.name)
    if not percent then bad(why) end
  end
  local amount = catalog.discounted(cycle.price * v.gb, percent)
  sb:charge(req, amount, { kind = "bandwidth", order_id = order.order_id, gb = v.gb })

  order.quantity = order.quantity + v.gb
  local account = traffic.open(sb, product.proxy_type)
  account.data = account.data + v.gb * catalog.GB
  return { success = true, message = "Order paid successfully" }
end

return H
