--- An add-on of an order (e.g. "p0f_slots"): quote, buy, and schedule or
-- cancel a downgrade at the next renewal.
local validate = require "proxyshard.validate"
local shapes = require "proxyshard.shapes"
local errors = require "proxyshard.errors"
local money = require "proxyshard.money"
local integer = require "proxyshard.integer"
local quote_model = require "proxyshard.model.quote"
local receipt_model = require "proxyshard.model.receipt"
local schedule_change = require "proxyshard.model.schedule_change"
local reconcile = require "proxyshard.reconcile"
local retry = require "proxyshard.retry"

local setmetatable = setmetatable
local tostring = tostring
local type = type
local pairs = pairs
local format = string.format

local M = {}

local Addon = { __name = "proxyshard.addon" }
Addon.__index = Addon

--- Returns the handle, or `nil, err` (invalid_argument) for a bad key.
function M.new(order, key)
  local addon_key, err = validate.addon_key(key)
  if not addon_key then return nil, err end
  return setmetatable({ order = order, key = addon_key }, Addon)
end

--- GET …/addons/calculate: the price of `add_qty` more units. Nothing is bought.
function Addon:quote(add_qty, opts)
  local qty, err = validate.quantity(add_qty, "add_qty")
  if not qty then return nil, err end
  local r
  r, err = self.order.client:call({
    method = "GET", path = self.order:path("/addons/calculate"),
    query = { { "addon_key", self.key }, { "add_qty", qty } },
    shape = shapes.quote_response,
  }, opts)
  if not r then return nil, err end
  return quote_model.new(self.order.id, self.key, r)
end

-- max_total: integer cents or a money value.
local function check_cap(cap)
  if money.is(cap) then return cap end
  if type(cap) == "number" and integer.is(cap) and cap >= 0 then return money.cents(cap) end
  return nil, errors.invalid("max_total", "must be a non-negative integer number of cents or a money value, got "
    .. tostring(cap))
end

--- The add-on's line as the order shows it now: { qty, addons_price_paid,
-- addons } (qty 0 when the order has no such line).
function Addon:current()
  local info, err = self.order:fetch()
  if not info then return nil, err end
  local line = info:addon_line(self.key)
  return { qty = line and line.qty or 0, addons_price_paid = info.addons_price_paid, addons = info.addons }
end

--- Send the purchase request once (no quote, no reconciliation).
function Addon:send_purchase(qty, opts)
  return self.order.client:call({
    method = "POST", path = self.order:path("/addons/purchase"), mutates = true,
    body = { addon_key = self.key, add_qty = qty }, shape = shapes.purchase_response,
  }, opts)
end

-- purchase's own options, and the retry options any call takes
local PURCHASE_OPTIONS = { max_total = true, reconcile = true }
for name in pairs(retry.DEFAULTS) do PURCHASE_OPTIONS[name] = true end

--- POST …/addons/purchase: buy `add_qty` units now; the wallet is charged.
-- opts.max_total (cents or money): quote first, and buy only when the
--   quoted total is at most the cap; otherwise return a `budget` error and
--   buy nothing. The price could still change in the instant between quote
--   and purchase; the API offers no way to pin it.
-- opts.reconcile (boolean): when the outcome is unknown (the request may
--   have been carried out but no answer came back), re-read the order to
--   find out, and try again at most once, only when nothing was bought.
--   See proxyshard.reconcile for what it can and cannot tell.
function Addon:purchase(add_qty, opts)
  local qty, err = validate.quantity(add_qty, "add_qty")
  if not qty then return nil, err end
  if opts ~= nil and type(opts) ~= "table" then
    return nil, errors.invalid("opts", "must be a table { max_total = ..., reconcile = ... }")
  end
  opts = opts or {}
  for name in pairs(opts) do
    if not PURCHASE_OPTIONS[name] then
      return nil, errors.invalid("opts", "has an unknown option " .. tostring(name))
    end
  end
  local cap, quote
  if opts.max_total ~= nil then
    cap, err = check_cap(opts.max_total)
    if not cap then return nil, err end
    quote, err = self:quote(qty)
    if not quote then return nil, err end
    if quote.add_qty ~= qty then
      return nil, errors.new("decode", format("quote is for %s units, not %d", tostring(quote.add_qty), qty))
    end
    if quote.total > cap then
      return nil, errors.new("budget", format("%s +%d costs %s, above max_total %s: nothing was bought",
        self.key, qty, tostring(quote.total), tostring(cap)), { quote = quote, max_total = cap })
    end
  end
  local before
  if opts.reconcile then
    -- what "nothing was bought" looks like, read before spending
    before, err = self:current()
    if not before then return nil, err end
  end
  local r
  r, err = self:send_purchase(qty, opts)
  if r then return receipt_model.new(self.order.id, self.key, qty, r, quote) end
  if err.kind ~= "unknown_outcome" or not opts.reconcile then return nil, err end
  return reconcile.purchase(self, qty, before, err, quote, opts)
end

--- POST …/addons/schedule: lower the quantity to `next_qty` at the next
-- renewal (it must be below the current quantity).
function Addon:schedule_downgrade(next_qty)
  local qty, err = validate.quantity(next_qty, "next_qty")
  if not qty then return nil, err end
  local r
  r, err = self.order.client:call {
    method = "POST", path = self.order:path("/addons/schedule"), mutates = true,
    body = { addon_key = self.key, action = "downgrade", next_qty = qty },
    shape = shapes.schedule_response,
  }
  if not r then return nil, err end
  return schedule_change.new(self.order.id, self.key, "downgrade", qty, r)
end

--- POST …/addons/schedule/cancel: drop the pending downgrade.
function Addon:cancel_downgrade()
  local r, err = self.order.client:call {
    method = "POST", path = self.order:path("/addons/schedule/cancel"), mutates = true,
    body = { addon_key = self.key }, shape = shapes.schedule_response,
  }
  if not r then return nil, err end
  return schedule_change.new(self.order.id, self.key, "cancel_downgrade", nil, r)
end

function Addon:__tostring()
  return format("proxyshard add-on %s of order %d", self.key, self.order.id)
end

return M
