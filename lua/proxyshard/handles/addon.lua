--- An add-on of an order (e.g. "p0f_slots"): quote, buy, and schedule or
-- cancel a downgrade at the next renewal. quote, schedule_downgrade and
-- cancel_downgrade come from their operation rows; purchase is a flow on
-- top of its row: a cap, and reconciliation.
local validate = require "proxyshard.check.validate"
local errors = require "proxyshard.errors"
local engine = require "proxyshard.engine"
local operations = require "proxyshard.operations"
local handle = require "proxyshard.handles"
local receipt_model = require "proxyshard.model.receipt"
local reconcile = require "proxyshard.flows.reconcile"

local tostring = tostring
local format = string.format

local M = {}

local Addon = handle.class("proxyshard.addon", function(self)
  return format("proxyshard add-on %s of order %s", tostring(self.key), tostring(self.order.id))
end)

engine.bind(Addon, "addon")

--- The handle; with a bad key (or a bad order), a handle whose every call
-- returns nil, err — and the err as a second value.
function M.new(order, key)
  local addon_key, err = validate.addon_key(key)
  return handle.make(Addon, { client = order.client, order = order, key = addon_key }, err or order.error)
end

function Addon:bound()
  return { order = self.order.id, addon = self.key }
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

local PURCHASE = operations.find("addon", "purchase")

-- purchase's own options, and those of every call
local PURCHASE_OPTIONS = engine.flow_options(PURCHASE)

--- Send the purchase request once (no quote, no reconciliation).
function Addon:send_purchase(qty, call)
  return engine.send(self, PURCHASE, { qty }, call)
end

-- Reconciling this purchase: the add-on's quantity, before and after.
local function reconcile_purchase(addon, qty, before, err, quote, cap, window)
  return reconcile.run {
    client = addon.client, window = window, err = err, undone = "nothing was bought",
    what = format("the order's %s (%d)", addon.key, before.qty),
    look = function(w) return addon:current(w) end,
    compare = function(after)
      local grown = after.qty - before.qty
      if grown == qty then return "done" end
      if grown == 0 then return "unchanged" end
      return "other", format("the order's %s went from %d to %d meanwhile, which is not +%d: something else "
        .. "changed it", addon.key, before.qty, after.qty, qty),
        { observed_qty = after.qty, expected_qty = before.qty + qty }
    end,
    confirmed = function(after)
      return receipt_model.new(addon.order.id, addon.key, qty, {
        message = format("bought: confirmed by re-reading the order (%d → %d)", before.qty, after.qty),
        addons_price_paid = after.addons_price_paid, addons = after.addons,
      }, quote, before)
    end,
    resend = function(w)
      if cap then
        -- the price may have moved since the first quote
        local again
        quote, again = addon:capped_quote(qty, cap, w)
        if not quote then
          again.bought, again.reconciled = false, true
          again.message = again.message .. " (the first purchase was not carried out: confirmed by "
            .. "re-reading the order)"
          return nil, again
        end
      end
      return addon:send_purchase(qty, w)
    end,
    resent = function(r) return receipt_model.new(addon.order.id, addon.key, qty, r, quote, before) end,
  }
end

--- POST …/addons/purchase: buy `add_qty` units now; the wallet is charged.
-- opts.max_total (integer cents, a money value, or dollars as text "1.00"):
--   quote first, and buy only when the quoted total is at most the cap;
--   otherwise return a `budget` error and buy nothing. The price could
--   still change in the instant between quote and purchase; the API
--   offers no way to pin it.
-- opts.reconcile (boolean): read the order before buying; when the outcome
--   is unknown, re-read it for up to opts.settle seconds (default 10) to
--   find out. See proxyshard.flows.reconcile for what it can and cannot tell.
-- opts.timeout and the retry options bound and shape every request the
--   purchase makes: the quote, the reads and the purchase itself.
function Addon:purchase(add_qty, opts)
  if self.error then return nil, self.error end
  local qty, err = validate.quantity(add_qty, "add_qty")
  if not qty then return nil, err end
  local call
  call, err = self.client:begin(opts, PURCHASE_OPTIONS)
  if not call then return nil, err end
  local o = call.opts
  local checked
  checked, err = reconcile.purchase_options(o)
  if not checked then return nil, err end
  local cap, settle = checked.cap, checked.settle

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
  return reconcile_purchase(self, qty, before, err, quote, cap, self.client:extend(call, settle))
end

return M
