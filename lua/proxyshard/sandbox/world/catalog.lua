--- The sandbox's prices, from its fixture: products and their cycles, promo
-- codes, add-ons. All money is integer cents. One function, `quote`,
-- prices a new order, so /orders/calculate answers exactly what
-- /orders/purchase then charges for the same parameters.
--
-- Pricing: base = the cycle's price × quantity (per IP for Datacenter and
-- ISP, per GB for residential); a promo code takes its percent off the base,
-- the discount rounded down to the cent (final = base − ⌊base × % / 100⌋);
-- add-ons are qty × their unit price for the product and get no discount;
-- total_with_addons = final + add-ons.
local reply = require "proxyshard.sandbox.reply"

local bad = reply.bad
local format = string.format

local M = {}

M.GB = 1 << 30

--- The products whose orders have IPs, add-ons and signatures.
M.DC_ISP = { ["Datacenter Proxy"] = true, ["ISP Proxy"] = true }

local function names(list, field)
  local out = {}
  for i, x in ipairs(list) do out[i] = field and x[field] or x end
  return table.concat(out, ", ")
end

function M.product(fixture, name)
  for _, p in ipairs(fixture.products) do
    if p.name == name then return p end
  end
  return nil
end

function M.cycle(product, name)
  for _, c in ipairs(product.cycles) do
    if c.name == name then return c end
  end
  return nil
end

--- The cycle named, or the product's only one when none is named.
function M.pick_cycle(product, name)
  if name == nil then
    if #product.cycles == 1 then return product.cycles[1] end
    bad(format("cycle is required for %s (%s)", product.name, names(product.cycles, "name")))
  end
  local cycle = M.cycle(product, name)
  if not cycle then
    bad(format("Unknown cycle %s for %s (%s)", name, product.name, names(product.cycles, "name")))
  end
  return cycle
end

--- The percent `code` takes off on `cycle_name`, or nil and why not.
function M.promo_percent(fixture, code, cycle_name)
  local promo = fixture.promos[code]
  if not promo then return nil, "Invalid promo code " .. code end
  for _, c in ipairs(promo.cycles) do
    if c == cycle_name then return promo.percent end
  end
  return nil, format("Promo code %s does not apply to the %s cycle", code, cycle_name)
end

function M.discounted(base, percent)
  return base - base * percent // 100
end

--- An add-on's catalog id and unit price for a product (price nil when the
-- product has none).
function M.unit_price(fixture, product_name, key)
  local entry = fixture.catalog[key]
  local price = entry and entry.price_per_unit
  if type(price) == "table" then price = price[product_name] end
  return entry and entry.catalog_id or 1, price
end

--- `{ {addon_key, qty}, ... }` priced for a product: the order's add-on
-- lines and their total.
function M.addon_lines(fixture, product_name, list)
  local lines, total = {}, 0
  if #list > 0 and not M.DC_ISP[product_name] then
    bad("Add-ons are only available for Datacenter and ISP orders")
  end
  for i, item in ipairs(list) do
    if not fixture.catalog[item.addon_key] then bad("Unknown addon_key") end
    local catalog_id, price = M.unit_price(fixture, product_name, item.addon_key)
    if price == nil then bad("Add-on is not available for this product") end
    lines[i] = { addon_key = item.addon_key, catalog_id = catalog_id, qty = item.qty, price_per_unit = price }
    total = total + price * item.qty
  end
  return lines, total
end

--- The price of a new order. `p`: product, location, cycle, quantity
-- (default 1), promo_code, addons (a list of {addon_key, qty}). Raises 400
-- for an unknown product, cycle, location or promo code.
function M.quote(fixture, p)
  local product = M.product(fixture, p.product)
  if not product then bad("Unknown product " .. p.product) end
  local cycle = M.pick_cycle(product, p.cycle)
  -- residential traffic is not bought for a place: the document's
  -- residential variants have no location, so one given is not looked at
  if p.location ~= nil and M.DC_ISP[product.name] and not M.has_location(product, p.location) then
    bad(format("Unknown location %s for %s (%s)", p.location, product.name, names(product.locations)))
  end
  local quantity = p.quantity or 1
  local base = cycle.price * quantity
  local percent = 0
  if p.promo_code ~= nil then
    local why
    percent, why = M.promo_percent(fixture, p.promo_code, cycle.name)
    if not percent then bad(why) end
  end
  local final = M.discounted(base, percent)
  local lines, addons_price = M.addon_lines(fixture, product.name, p.addons or {})
  return {
    product = product, cycle = cycle, quantity = quantity, addons = lines,
    promo_code = p.promo_code,
    original_price = base, discount_percent = percent, final_price = final,
    addons_price = addons_price, total_with_addons = final + addons_price,
  }
end

function M.has_location(product, code)
  for _, l in ipairs(product.locations or {}) do
    if l == code then return true end
  end
  return false
end

return M
