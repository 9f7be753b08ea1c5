--- The price of a spend, before anything is sent: one function per way of
-- pricing, named by the spending row's `price` (proxyshard.operations).
-- Each takes (handle, values = the row's checked values, args = the
-- caller's arguments, call) and returns
--   { total = money or nil, estimate = true when the API quotes no price
--     for this call, quote = the quote model it came from, what = the spend
--     in words, text = one line for a confirmation, why = when there is no
--     total, the reason }
-- or nil, err when the price could not be asked (nothing is sent then).
--
-- How each operation is priced:
--   addon_quote  the add-on's own quote (GET …/addons/calculate)
--   order_quote  the new order's quote (GET /orders/calculate), with the
--                purchase's own parameters
--   renewal      an estimate: the price of a new order like it (product,
--                cycle, quantity, promo code, and each add-on at the
--                quantity it will have after the renewal) — the API quotes
--                no renewal
--   traffic      an estimate: the price of that many GB of the order's
--                residential product and cycle, with the promo code given
-- @module proxyshard.flows.price
local errors = require "proxyshard.errors"
local operations = require "proxyshard.operations"
local engine = require "proxyshard.engine"

local ipairs = ipairs
local next = next
local tostring = tostring
local format = string.format

local M = {}

local FETCH = operations.find("order", "fetch")
local QUOTE = operations.find("addon", "quote")
local QUOTE_ORDER = operations.find("client", "quote_order")

-- The kinds of failure that mean "the API cannot price this" rather than
-- "the price could not be asked": an estimate then has no total. An
-- estimate quotes values read from the order (the caller's own were
-- checked before pricing), so a value the price calculation's checks
-- refuse (an order of quantity 0) is no price, not the caller's mistake.
local NO_PRICE = { validation = true, not_found = true, decode = true, api = true, invalid_argument = true }

-- An estimate from the price of a new order: the quote for `params`, or
-- a price without a total (and why) when the API refuses to price it.
local function estimate(client, params, what, call)
  local quote, err = engine.invoke(client, QUOTE_ORDER, call, params)
  if not quote then
    if not NO_PRICE[err.kind] then return nil, err end
    return { estimate = true, what = what, why = err.message,
      text = format("%s: no price (the API quotes none, and could not estimate it: %s)", what, err.message) }
  end
  return { total = quote.total, estimate = true, quote = quote, what = what,
    why = quote.total == nil and "the price calculation gave no total" or nil,
    text = format("%s: about %s (estimated from the price of a new order like it; the API quotes none)", what,
      tostring(quote.total or "?")) }
end

--- An add-on's quote for the quantity asked.
function M.addon_quote(addon, values, _, call)
  local qty = values.add_qty
  local quote, err = engine.invoke(addon, QUOTE, call, qty)
  if not quote then return nil, err end
  -- a quote that says it is for another quantity is not this purchase's
  -- price (one that does not say is taken at its word)
  if quote.add_qty ~= nil and quote.add_qty ~= qty then
    return nil, errors.new("decode", format("quote is for %s units, not %d", tostring(quote.add_qty), qty))
  end
  -- a cap can only be held to a total the API gave: max_total refuses
  -- one without it (flows/spend.lua's `within`)
  return { total = quote.total, quote = quote, text = tostring(quote),
    what = format("%s +%d on order %d", addon.key, qty, addon.order.id),
    why = quote.total == nil and "the quote gave no add_total" or nil }
end

-- the purchase's parameters that the price calculation takes too
local QUOTED = { "product", "location", "cycle", "quantity", "promo_code", "addons" }

--- A new order's quote, for the purchase's own parameters.
function M.order_quote(client, values, args, call)
  local params, q = args[1] or {}, {}
  for _, name in ipairs(QUOTED) do q[name] = params[name] end
  local quote, err = engine.invoke(client, QUOTE_ORDER, call, q)
  if not quote then return nil, err end
  return { total = quote.total, quote = quote, text = tostring(quote), what = tostring(values.product),
    why = quote.total == nil and "the price calculation gave no total (total_with_addons)" or nil }
end

-- The order as it is now, for an estimate of `what`: its info; or nil
-- and the price without a total (the order does not show its product), or
-- nil, nil, err when it could not be read.
local function order_to_price(order, what, call)
  local info, err = engine.invoke(order, FETCH, call)
  if not info then return nil, nil, err end
  if not info.product_name then
    return nil, { estimate = true, what = what, why = "the order does not show its product",
      text = what .. ": no price (the order does not show its product)" }
  end
  return info
end

--- A renewal, estimated from the order as it is now.
function M.renewal(order, _, _, call)
  local what = format("renewal of order %d", order.id)
  local info, none, err = order_to_price(order, what, call)
  if not info then return none, err end
  local addons = {}
  for _, line in ipairs(info.addons) do
    local qty = line:next_qty()
    if line.addon_key and qty and qty > 0 then addons[line.addon_key] = qty end
  end
  return estimate(order.client, { product = info.product_name, cycle = info.cycle_name, quantity = info.quantity,
    promo_code = info.promo_code, addons = next(addons) and addons or nil },
    format("%s (%s, %s, ×%s)", what, info.product_name, tostring(info.cycle_name or "?"),
      tostring(info.quantity or "?")), call)
end

--- Extra traffic for a residential order, estimated from its product.
function M.traffic(order, values, _, call)
  local what = format("%d GB for order %d", values.gb, order.id)
  local info, none, err = order_to_price(order, what, call)
  if not info then return none, err end
  return estimate(order.client, { product = info.product_name, cycle = info.cycle_name, quantity = values.gb,
    promo_code = values.promo_code }, what, call)
end

return M
