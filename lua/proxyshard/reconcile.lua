--- Finding out what happened to an add-on purchase whose answer was lost.
--
-- The API has no idempotency key, so the only evidence is the order itself:
-- its add-on quantity is read before the purchase and again after the
-- outcome turned out unknown.
--   * grown by exactly the quantity bought → it was bought: a receipt is
--     made from the order as re-read (`receipt.reconciled = true`);
--   * unchanged → nothing was bought: the purchase is sent once more (only
--     once), and reconciled again if that too goes unanswered;
--   * anything else → something else changed the add-on meanwhile: the
--     outcome stays unknown.
-- The race it cannot see: if another buyer (another script, the dashboard)
-- buys the same number of units of the same add-on on the same order
-- between the two reads while our request failed, their purchase looks like
-- ours. Scheduled downgrades do not change the quantity until renewal, so
-- they do not disturb the reading; a renewal in between would.
local errors = require "proxyshard.errors"
local receipt_model = require "proxyshard.model.receipt"

local format = string.format
local pairs = pairs

local M = {}

local function still_unknown(err, message, fields)
  err.message = err.message .. "; " .. message
  for k, v in pairs(fields or {}) do err[k] = v end
  return nil, err
end

--- Called after `err` (kind unknown_outcome) on a purchase of `qty` units;
-- `before` is addon:current() read before the purchase was sent.
function M.purchase(addon, qty, before, err, quote, opts)
  local sent = 1
  local attempts = err.attempts or 1
  while true do
    local after, rerr = addon:current()
    if not after then
      return still_unknown(err, "re-reading the order failed: " .. rerr.message, { reconcile_error = rerr })
    end
    local grown = after.qty - before.qty
    if grown == qty then
      local receipt = receipt_model.new(addon.order.id, addon.key, qty, {
        message = format("bought: confirmed by re-reading the order (%d → %d)", before.qty, after.qty),
        addons_price_paid = after.addons_price_paid,
        addons = after.addons,
      }, quote)
      receipt.reconciled = true
      receipt.attempts = attempts
      return receipt
    end
    if grown ~= 0 then
      return still_unknown(err, format("the order's %s went from %d to %d meanwhile, which is not +%d: "
        .. "something else changed it", addon.key, before.qty, after.qty, qty),
        { observed_qty = after.qty, expected_qty = before.qty + qty })
    end
    -- provably nothing was bought
    if sent >= 2 then
      return nil, errors.new(err.cause or "network", format("%s; nothing was bought (confirmed by "
        .. "re-reading the order), and the one retry is spent", err.message), {
        method = err.method, path = err.path, status = err.status, attempts = attempts,
        bought = false, reconciled = true,
      })
    end
    sent = sent + 1
    local r, again = addon:send_purchase(qty, opts)
    attempts = attempts + ((again and again.attempts) or 1)
    if r then
      local receipt = receipt_model.new(addon.order.id, addon.key, qty, r, quote)
      receipt.attempts = attempts
      receipt.retried = true
      return receipt
    end
    if again.kind ~= "unknown_outcome" then
      again.attempts = attempts
      return nil, again
    end
    err = again
    err.attempts = attempts
  end
end

return M
