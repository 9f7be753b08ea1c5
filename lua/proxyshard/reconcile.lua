--- Finding out what happened to an add-on purchase whose answer was lost.
--
-- The API has no idempotency key, so the only evidence is the order itself:
-- its add-on quantity is read before the purchase and again, for a bounded
-- settle window, after the outcome turned out unknown.
--
-- What it can tell:
--   * the quantity grew by exactly the quantity bought → it was bought: a
--     receipt made from the order as re-read (`receipt.reconciled = true`);
--   * the quantity changed by anything else → something else changed the
--     add-on meanwhile: the outcome stays unknown;
--   * the quantity is unchanged, and the exchange is over on the server's
--     side — a complete answer came back (a 500, an unreadable 2xx; see
--     `err.in_flight` in proxyshard.response) → nothing was bought: the
--     purchase is sent once more (only once), after a new quote when there
--     is a cap (`budget` if the price rose above it);
--   * the quantity stays unchanged while the request may still be running
--     (a timeout, a broken connection, a gateway's 502/503/504): the order
--     is re-read until the window closes; if the purchase shows up, it was
--     bought, and if not the outcome stays unknown — it is never sent again.
--     "Unchanged when I looked" proves nothing while the first request may
--     still land.
--
-- What it cannot tell:
--   * a purchase that lands after the window closed: the error says the
--     order was unchanged for `settle` seconds, and that is all it says;
--   * another buyer (another script, the dashboard) buying the same number
--     of units of the same add-on on the same order while ours failed:
--     their purchase looks like ours;
--   * a renewal in between (scheduled downgrades change the quantity only
--     at renewal, so they do not disturb the reading).
-- The window is `settle` seconds (default DEFAULT_SETTLE) on top of the
-- purchase's own timeout; the re-reads, the new quote and the one resend
-- all fit in it.
local errors = require "proxyshard.errors"
local receipt_model = require "proxyshard.model.receipt"

local format = string.format
local pairs = pairs
local min = math.min

local M = {}

M.DEFAULT_SETTLE = 10 -- seconds
M.FIRST_WAIT = 0.25   -- between re-reads, doubling ...
M.MAX_WAIT = 2        -- ... up to this

local function still_unknown(err, message, fields)
  err.message = err.message .. "; " .. message
  for k, v in pairs(fields or {}) do err[k] = v end
  return nil, err
end

-- nothing was bought, for sure: the error says so
local function not_bought(err, message, attempts)
  return errors.new(err.cause or "network", err.message .. "; " .. message, {
    method = err.method, path = err.path, status = err.status, attempts = attempts,
    bought = false, reconciled = true,
  })
end

--- Called after `p.err` (kind unknown_outcome) on a purchase of `p.qty`
-- units. p = { addon, qty, before = addon:current() read before buying,
-- err, quote (or nil), cap (or nil), window = the Call whose deadline closes
-- the settle window }.
function M.purchase(p)
  local addon, qty, before, window = p.addon, p.qty, p.before, p.window
  local client = addon.order.client
  local err, quote = p.err, p.quote
  local attempts = err.attempts or 1
  local resent = false
  -- the waits are summed as well as timed, so an injected sleep that does
  -- not pass real time still ends the window
  local wait, waited = M.FIRST_WAIT, 0
  while true do
    local after, rerr = addon:current(window)
    if not after then
      return still_unknown(err, "re-reading the order failed: " .. rerr.message, { reconcile_error = rerr })
    end
    local grown = after.qty - before.qty
    if grown == qty then
      local receipt = receipt_model.new(addon.order.id, addon.key, qty, {
        message = format("bought: confirmed by re-reading the order (%d → %d)", before.qty, after.qty),
        addons_price_paid = after.addons_price_paid,
        addons = after.addons,
      }, quote, before)
      receipt.reconciled = true
      receipt.retried = resent
      receipt.attempts = attempts
      return receipt
    end
    if grown ~= 0 then
      return still_unknown(err, format("the order's %s went from %d to %d meanwhile, which is not +%d: "
        .. "something else changed it", addon.key, before.qty, after.qty, qty),
        { observed_qty = after.qty, expected_qty = before.qty + qty })
    end

    if not err.in_flight then
      -- the exchange is over and the order unchanged: nothing was bought
      if resent then
        return nil, not_bought(err, "nothing was bought (confirmed by re-reading the order), "
          .. "and the one retry is spent", attempts)
      end
      if p.cap then
        -- the price may have moved since the first quote
        local again
        quote, again = addon:capped_quote(qty, p.cap, window)
        if not quote then
          again.bought, again.reconciled = false, true
          again.message = again.message .. " (the first purchase was not carried out: confirmed by "
            .. "re-reading the order)"
          return nil, again
        end
      end
      resent = true
      local r, again = addon:send_purchase(qty, window)
      attempts = attempts + ((again and again.attempts) or 1)
      if r then
        local receipt = receipt_model.new(addon.order.id, addon.key, qty, r, quote, before)
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
    else
      -- it may still be running: look again, until the window closes
      local left = window.deadline - client.clock()
      if waited >= window.timeout or left <= 0 then
        return still_unknown(err, format("the order's %s stayed at %d for %s s of re-reading, but the "
          .. "request may still be carried out, so it was not sent again", addon.key, before.qty,
          window.timeout), { unchanged_for = window.timeout })
      end
      local nap = min(wait, left, window.timeout - waited)
      client.sleep(nap)
      waited = waited + nap
      wait = min(wait * 2, M.MAX_WAIT)
    end
  end
end

return M
