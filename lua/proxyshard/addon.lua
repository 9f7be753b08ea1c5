--- An add-on of an order (e.g. "p0f_slots"): quote, buy, and schedule or
-- cancel a downgrade at the next renewal.
local validate = require "proxyshard.validate"
local shapes = require "proxyshard.shapes"
local errors = require "proxyshard.errors"
local options = require "proxyshard.options"
local settings = require "proxyshard.settings"
local client_module = require "proxyshard.client"
local quote_model = require "proxyshard.model.quote"
local receipt_model = require "proxyshard.model.receipt"
local schedule_change = require "proxyshard.model.schedule_change"
local reconcile = require "proxyshard.reconcile"

local setmetatable = setmetatable
local tostring = tostring
local type = type
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
  if r.addon_key ~= nil and r.addon_key ~= self.key then
    -- a price for something else must not pass for this one's
    return nil, errors.new("decode", format("the quote is for add-on %q, not %q", r.addon_key, self.key),
      { method = "GET", path = self.order:path("/addons/calculate") })
  end
  return quote_model.new(self.order.id, self.key, r)
end

--- The quote a cap is checked against: `budget` (nothing bought) when it
-- is above `cap`, `decode` when it is not for the quantity asked.
function Addon:capped_quote(qty, cap, call)
  local quote, err = self:quote(qty, call)
  if not quote then return nil, err end
  if quote.add_qty ~= qty then
    return nil, errors.new("decode", format("quote is for %s units, not %d", tostring(quote.add_qty), qty))
  end
  if quote.total > cap then
    return nil, errors.new("budget", format("%s +%d costs %s, above max_total %s: nothing was bought",
      self.key, qty, tostring(quote.total), tostring(cap)), { quote = quote, max_total = cap })
  end
  return quote
end

--- The add-on's line as the order shows it now: { qty, addons_price_paid,
-- addons } (qty 0 when the order has no such line).
function Addon:current(opts)
  local info, err = self.order:fetch(opts)
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

-- purchase's own options, and those of every call
local PURCHASE_OPTIONS = options.set({ "max_total", "reconcile", "settle" }, client_module.CALL_OPTIONS)

--- POST …/addons/purchase: buy `add_qty` units now; the wallet is charged.
-- opts.max_total (integer cents, a money value, or dollars as text "1.00"):
--   quote first, and buy only when the quoted total is at most the cap;
--   otherwise return a `budget` error and buy nothing. The price could
--   still change in the instant between quote and purchase; the API
--   offers no way to pin it.
-- opts.reconcile (boolean): read the order before buying; when the outcome
--   is unknown, re-read it for up to opts.settle seconds (default 10) to
--   find out. See proxyshard.reconcile for what it can and cannot tell.
-- opts.timeout and the retry options bound and shape every request the
--   purchase makes: the quote, the reads and the purchase itself.
function Addon:purchase(add_qty, opts)
  local qty, err = validate.quantity(add_qty, "add_qty")
  if not qty then return nil, err end
  local client = self.order.client
  local call
  call, err = client:begin(opts, PURCHASE_OPTIONS)
  if not call then return nil, err end
  local o = call.opts
  local cap
  if o.max_total ~= nil then
    cap, err = validate.amount(o.max_total, "max_total")
    if not cap then return nil, err end
  end
  if o.reconcile ~= nil and type(o.reconcile) ~= "boolean" then
    return nil, errors.invalid("reconcile", "must be true or false")
  end
  local settle = reconcile.DEFAULT_SETTLE
  if o.settle ~= nil then
    if not o.reconcile then return nil, errors.invalid("settle", "applies only with reconcile = true") end
    settle, err = settings.seconds(o.settle, "settle")
    if not settle then return nil, err end
  end

  local quote
  if cap then
    quote, err = self:capped_quote(qty, cap, call)
    if not quote then return nil, err end
  end
  local before
  if o.reconcile then
    -- what "nothing was bought" looks like, read before spending
    before, err = self:current(call)
    if not before then return nil, err end
  end
  local r
  r, err = self:send_purchase(qty, call)
  if r then return receipt_model.new(self.order.id, self.key, qty, r, quote, before) end
  if err.kind ~= "unknown_outcome" or not o.reconcile then return nil, err end
  return reconcile.purchase { addon = self, qty = qty, before = before, err = err, quote = quote,
    cap = cap, window = client:extend(call, settle) }
end

--- POST …/addons/schedule: lower the quantity to `next_qty` at the next
-- renewal (it must be below the current quantity).
function Addon:schedule_downgrade(next_qty, opts)
  local qty, err = validate.quantity(next_qty, "next_qty")
  if not qty then return nil, err end
  local r
  r, err = self.order.client:call({
    method = "POST", path = self.order:path("/addons/schedule"), mutates = true,
    body = { addon_key = self.key, action = "downgrade", next_qty = qty },
    shape = shapes.schedule_response,
  }, opts)
  if not r then return nil, err end
  return schedule_change.new(self.order.id, self.key, "downgrade", qty, r)
end

--- POST …/addons/schedule/cancel: drop the pending downgrade.
function Addon:cancel_downgrade(opts)
  local r, err = self.order.client:call({
    method = "POST", path = self.order:path("/addons/schedule/cancel"), mutates = true,
    body = { addon_key = self.key }, shape = shapes.schedule_response,
  }, opts)
  if not r then return nil, err end
  return schedule_change.new(self.order.id, self.key, "cancel_downgrade", nil, r)
end

function Addon:__tostring()
  return format("proxyshard add-on %s of order %d", self.key, self.order.id)
end

return M
