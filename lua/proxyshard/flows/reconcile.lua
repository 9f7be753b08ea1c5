--- Finding out what happened to a purchase whose answer was lost: an
-- add-on purchase, a new order, a renewal. The API has no idempotency key,
-- so the only evidence is the account itself, read before the request
-- and again, for a bounded settle window, after the outcome turned out
-- unknown. What each spend reads and how it compares is its evidence
-- (proxyshard.flows.evidence, run by proxyshard.flows.spend); the rules
-- are here, once:
--
-- What it can tell:
--   * the change shows up (the add-on grew by exactly the quantity bought;
--     one new order of that product; the order renewed) → it was done: a
--     result made from what was re-read (`reconciled = true`);
--   * something else changed → the outcome stays unknown;
--   * nothing changed, and the exchange is over on the server's side — a
--     complete answer came back (a 500, an unreadable 2xx; `err.in_flight`
--     false, see proxyshard.engine.response) → it was not done: the request is
--     sent once more (only once), after a new quote when there is a cap
--     (`budget` if the price rose above it);
--   * nothing changed while the request may still be running (a timeout, a
--     broken connection, a gateway's 502/503/504): it re-reads until the
--     window closes; if the change shows up it was done, and if not the
--     outcome stays unknown — it is never sent again. "Unchanged when I
--     looked" proves nothing while the first request may still land.
--
-- What it cannot tell:
--   * a change that lands after the window closed: the error says nothing
--     changed for `settle` seconds, and that is all it says;
--   * someone else (another script, the dashboard) making the same change
--     meanwhile: theirs looks like ours;
--   * for add-ons, a renewal in between (scheduled downgrades change the
--     quantity only at renewal, so they do not disturb the reading).
-- The window is `settle` seconds (default DEFAULT_SETTLE) on top of the
-- call's own timeout; the re-reads, a new quote and the one resend fit in it.
local errors = require "proxyshard.errors"

local format = string.format
local pairs = pairs
local min = math.min

local M = {}

M.DEFAULT_SETTLE = 10 -- seconds
M.FIRST_WAIT = 0.25   -- between re-reads, doubling ...
M.MAX_WAIT = 2        -- ... up to this

--- The settle option of a flow: nil → the default; only with reconcile.
function M.settle(opts)
  if opts.reconcile ~= nil and type(opts.reconcile) ~= "boolean" then
    return nil, errors.invalid("reconcile", "must be true or false")
  end
  if opts.settle == nil then return M.DEFAULT_SETTLE end
  if not opts.reconcile then return nil, errors.invalid("settle", "applies only with reconcile = true") end
  return require("proxyshard.check.settings").seconds(opts.settle, "settle")
end

local function still_unknown(err, message, fields)
  err.message = err.message .. "; " .. message
  for k, v in pairs(fields or {}) do err[k] = v end
  return nil, err
end

-- it was not done, for sure: the error says so
local function not_done(err, message, attempts)
  return errors.new(err.cause or "network", err.message .. "; " .. message, {
    method = err.method, path = err.path, status = err.status, attempts = attempts,
    bought = false, reconciled = true,
  })
end

--- After `p.err` (kind unknown_outcome). p = {
--   client, window = the Call whose deadline closes the settle window,
--   err, what = "the order's p0f_slots (3)", undone = "nothing was bought"
--   (for messages),
--   look(window)          → what is seen now, or nil, err
--   compare(seen)         → "done" | "unchanged" | "other", message, fields
--   confirmed(seen, resent, attempts) → the result when it was done
--   resend(window)        → the resend's answer, or nil, err (a refused
--                           new quote is a definite error: returned as is)
--   resent(answer, attempts) → the result of a resend that went through }
function M.run(p)
  local client, window, err = p.client, p.window, p.err
  local attempts = err.attempts or 1
  local resent = false
  -- the waits are summed as well as timed, so an injected sleep that does
  -- not pass real time still ends the window
  local wait, waited = M.FIRST_WAIT, 0
  local unchanged = false -- seen unchanged, while it may still be running
  local function window_over()
    return waited >= window.timeout or window.deadline - client.clock() <= 0
  end
  local function stayed()
    return still_unknown(err, format("%s stayed as it was for %s s of re-reading, but the request may "
      .. "still be carried out, so it was not sent again", p.what, window.timeout),
      { unchanged_for = window.timeout })
  end
  while true do
    local seen, rerr = p.look(window)
    if not seen then
      -- a last look cut short by the end of the window: what was seen stands
      if unchanged and window_over() then return stayed() end
      return still_unknown(err, "re-reading failed: " .. rerr.message, { reconcile_error = rerr })
    end
    local verdict, message, fields = p.compare(seen)
    if verdict == "done" then
      local result = p.confirmed(seen, resent, attempts)
      result.reconciled = true
      result.retried = resent
      result.attempts = attempts
      return result
    end
    if verdict == "other" then return still_unknown(err, message, fields) end

    if not err.in_flight then
      -- the exchange is over and nothing changed: it was not done
      if resent then
        return nil, not_done(err, format("%s (confirmed by re-reading), and the one retry is spent",
          p.undone or "it was not carried out"), attempts)
      end
      resent = true
      local r, again = p.resend(window)
      attempts = attempts + ((again and again.attempts) or 1)
      if r then
        local result = p.resent(r, attempts)
        result.attempts = attempts
        result.retried = true
        return result
      end
      if again.kind ~= "unknown_outcome" then
        again.attempts = attempts
        return nil, again
      end
      err = again
      err.attempts = attempts
    else
      -- it may still be running: look again, until the window closes
      unchanged = true
      local left = window.deadline - client.clock()
      if window_over() then return stayed() end
      local nap = min(wait, left, window.timeout - waited)
      client.sleep(nap)
      waited = waited + nap
      wait = min(wait * 2, M.MAX_WAIT)
    end
  end
end

return M
