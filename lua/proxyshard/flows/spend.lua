--- The one way to spend: every row with `spends = true` (the add-on
-- purchase, purchase_order, renew, add_bandwidth, and any spending row
-- added later) is this flow around its row, whatever its handle:
--
--   1. check: the options and the request, once (bad input sends nothing);
--   2. price: the row's `price` (proxyshard.flows.price) — the API's quote,
--      or an estimate where the API quotes none;
--   3. cap: above `max_total` is `budget`, nothing sent; with `max_total`
--      and no price at all, also `budget`, rather than a guess;
--   4. confirm: `opts.confirm(price)`, when given, sees the price and says
--      whether to go on (`declined` otherwise, nothing sent); what it
--      confirmed is the most a resend may cost;
--   5. read the row's `evidence` (proxyshard.flows.evidence) before, when
--      reconciling or when the price is an estimate (to see the charge);
--   6. send once;
--   7. on an unknown outcome with `reconcile`, find out from the evidence
--      (proxyshard.flows.reconcile): never resent while the request may
--      still run, re-priced and capped before the one resend.
--
-- The result is the row's model with what was spent: `charged` (what the
-- account shows it took, or else the API's quote), `estimated` (the
-- estimate, when the API quotes none), `quote`, and `overcharged = {
-- quoted, charged }` when the charge seen is above the price shown.
-- Options: max_total (integer cents, a money value, or dollars as text
-- "1.00"), reconcile (boolean), settle (seconds, with reconcile; default
-- 10), confirm (function(price) → true to buy; an error it raises is the
-- caller's own, and goes up before anything is sent), and the call options.
-- @module proxyshard.flows.spend
local errors = require "proxyshard.errors"
local engine = require "proxyshard.engine"
local plan = require "proxyshard.engine.plan"
local calls = require "proxyshard.engine.call"
local validate = require "proxyshard.check.validate"
local price = require "proxyshard.flows.price"
local evidence = require "proxyshard.flows.evidence"
local reconcile = require "proxyshard.flows.reconcile"
local exclusive = require "proxyshard.jobs.exclusive"
local lock = require "proxyshard.jobs.lock"
local settle = require "proxyshard.flows.settle" -- the journal's
local settings = require "proxyshard.check.settings"

local type = type
local pairs = pairs
local tostring = tostring
local setmetatable = setmetatable
local sort = table.sort
local concat = table.concat
local format = string.format
local unpack = table.unpack or unpack -- luacheck: ignore (LuaJIT)

local M = {}

--- The spending options of `o` (a call's opts), checked: { cap, settle,
-- reconcile, confirm }, or nil, err. The one rule for every flow that
-- spends, before anything is sent (top_up_p0f's too).
function M.check_options(o)
  local cap, err
  if o.max_total ~= nil then
    cap, err = validate.amount(o.max_total, "max_total")
    if not cap then return nil, err end
  end
  local window
  window, err = reconcile.settle(o)
  if not window then return nil, err end
  if o.confirm ~= nil and type(o.confirm) ~= "function" then
    return nil, errors.invalid("confirm", "must be a function(price) that returns true to buy")
  end
  return { cap = cap, settle = window, reconcile = o.reconcile == true, confirm = o.confirm }
end

--- The price `p` checked against `cap`: true, or a `budget` error.
-- @local
function M.within(p, cap)
  if not cap then return true end
  if p.total == nil then
    return nil, errors.new("budget", format("%s has no price (%s), so max_total %s cannot be checked: nothing "
      .. "was bought", p.what, p.why or "none was given", tostring(cap)),
      { quote = p.quote, max_total = cap, bought = false })
  end
  if p.total > cap then
    return nil, errors.new("budget", format("%s costs %s%s, above max_total %s: nothing was bought", p.what,
      p.estimate and "about " or "", tostring(p.total), tostring(cap)),
      { quote = p.quote, max_total = cap, estimated = p.estimate or nil, bought = false })
  end
  return true
end

-- What was spent, on the result: charged (seen, or the API's quote),
-- estimated, quote, overcharged.
local function account(result, p, seen)
  if type(result) ~= "table" then return result end
  result.quote = p.quote
  if p.estimate then result.estimated = p.total end
  local charged = seen
  if charged == nil and not p.estimate then charged = p.total end
  result.charged = charged
  if seen and p.total and seen > p.total then result.overcharged = { quoted = p.total, charged = seen } end
  return result
end

-- One spend of `row` on `handle`, its request `req` made and checked.
local Spend = {}
Spend.__index = Spend

-- The result of an answer `r` (the spend's own, or one the evidence made):
-- the row's model, with what was spent. `after`: the state seen after.
function Spend:finish(r, after)
  local result, err = engine.wrap(self.handle, self.row, r, self.values)
  if result == nil then return nil, err end
  local ev, before, seen = self.evidence, self.before, nil
  if ev and before and ev.charged then
    if not after and ev.answered then after = ev.answered(r) end
    -- an estimate's charge is read after; a failed read leaves the estimate
    if not after and self.price.estimate then after = ev.read(self.handle, self.values, self.call) end
    seen = after and ev.charged(before, after)
  end
  return account(result, self.price, seen)
end

-- Reconcile the unknown outcome `err` (proxyshard.flows.reconcile).
function Spend:reconcile(err)
  local ev, handle, values, before = self.evidence, self.handle, self.values, self.before
  return reconcile.run {
    client = self.client, window = calls.extend(self.client, self.call, self.options.settle), err = err,
    what = ev.what(handle, before), undone = "nothing was bought",
    look = function(w) return ev.read(handle, values, w) end,
    compare = function(after) return ev.compare(before, after, values, handle) end,
    confirmed = function(after) return self:finish(ev.confirmed(before, after, values, handle), after) end,
    resend = function(w)
      if self.cap then
        -- the price may have moved since it was shown
        local p, perr = self:priced(w)
        if p then
          local ok
          ok, perr = M.within(p, self.cap)
          if not ok then p = nil end
        end
        if not p then
          perr.bought, perr.reconciled = false, true
          perr.message = perr.message .. " (the first request was not carried out: confirmed by re-reading)"
          return nil, perr
        end
      end
      return calls.perform(self.client, self.req, w)
    end,
    resent = function(r) return self:finish(r) end,
  }
end

-- The row's price now (a row without a way to price it has none).
function Spend:priced(call)
  local price_of = price[self.row.price]
  if not price_of then
    return { what = self.row.name, why = "no way to price it", text = self.row.name .. ": no price" }
  end
  local p, err = price_of(self.handle, self.values, self.args, call)
  if p then self.price = p end
  return p, err
end

--- The key two spends share when they must not run at once in this
-- process (proxyshard.jobs.exclusive): the API's address, the operation,
-- and what the handle binds (the order, the add-on).
function M.key(handle, row)
  local client = handle.client or handle
  return client.base_url .. " " .. row.handle .. ":" .. row.name .. " " .. M.bound_text(handle:bound())
end

--- What a handle binds, in words that do not depend on table order:
-- "addon=p0f_slots order=12345" (a spend's key, the journal's reports).
function M.bound_text(bound)
  local parts = {}
  for name, value in pairs(bound or {}) do parts[#parts + 1] = name .. "=" .. tostring(value) end
  sort(parts)
  return concat(parts, " ")
end

-- Price → cap → confirm → evidence → send → reconcile, for the spend `s`.
local function go(s)
  local handle, o, call = s.handle, s.options, s.call
  local p, err = s:priced(call)
  if not p then return nil, err end
  local ok
  ok, err = M.within(p, s.cap)
  if not ok then return nil, err end
  if o.confirm then
    if not o.confirm(p) then
      return nil, errors.new("declined", format("%s was not confirmed: nothing was bought", p.what),
        { bought = false, price = p.total, estimated = p.estimate or nil, quote = p.quote })
    end
    if p.total and (not s.cap or p.total < s.cap) then s.cap = p.total end
  end
  local ev = s.evidence
  -- what "not done" looks like, when it may be needed: to reconcile, to
  -- see an estimate's charge, to settle a journal entry after a crash
  if ev and (o.reconcile or p.estimate or s.journal) then
    s.before, err = ev.read(handle, s.values, call)
    if not s.before then return nil, err end
  end
  if s.journal then
    -- on disk before the request leaves: a run killed from here on leaves
    -- an entry the next run settles
    s.entry, err = s.journal:sent { operation = s.row.handle .. ":" .. s.row.name, bound = handle:bound(),
      values = s.values, price = p.total, estimate = p.estimate, max_total = s.cap, before = s.before }
    if not s.entry then return nil, err end
  end

  local r
  r, err = calls.perform(s.client, s.req, call)
  if r then return s:finish(r) end
  if err.kind ~= "unknown_outcome" or not o.reconcile or not s.before then return nil, err end
  return s:reconcile(err)
end

-- Are two handles' bound values the same?
local function same(a, b)
  for k, v in pairs(a or {}) do
    if b[k] ~= v then return false end
  end
  for k in pairs(b) do
    if (a or {})[k] == nil then return false end
  end
  return true
end

-- With the journal: this thing's earlier spends settled first (an unknown
-- one refuses this spend), then the spend, then how it ended, recorded.
local function journaled(s, jobs)
  if not jobs.journal then return go(s) end
  local op, bound = s.row.handle .. ":" .. s.row.name, s.handle:bound()
  local report, err = settle.run(s.client, { state_dir = jobs.state_dir }, function(e)
    return e.operation == op and same(e.bound, bound)
  end)
  if not report then return nil, err end
  for _, r in ipairs(report) do
    if r.state == "unknown" then
      return nil, errors.new("unknown_outcome", format("an earlier %s of this, sent at %s (journal entry %s), "
        .. "may or may not have been carried out (%s): settle it first (client:settle(), proxyshard pending "
        .. "--settle); nothing was sent", s.row.name, tostring(r.entry.at), r.entry.id, r.note),
        { journal_entry = r.entry.id, bought = false, request_sent = false })
    end
  end
  s.journal, err = settle.journal(s.client, jobs.state_dir)
  if not s.journal then return nil, err end
  local result
  result, err = go(s)
  if s.entry then
    if result ~= nil then
      s.journal:ended(s.entry, "done", type(result) == "table" and result.charged or nil)
    elseif err.kind == "unknown_outcome" then
      s.journal:ended(s.entry, "unknown", nil, err.message)
    else
      s.journal:ended(s.entry, "not_done", nil, err.message)
    end
  end
  return result, err
end

-- Under the run's lock, when asked for: another process's run of this
-- account waits, or is refused (`locked`).
local function guarded(s, jobs)
  return lock.around(s.client, jobs, M.lock_ttl(s.call, s.options.settle), journaled, s, jobs)
end

--- How long a spend under `call` may hold the lock inside nginx: its time,
-- the settle window, and room for the reads around it.
-- @local
function M.lock_ttl(call, window)
  return call.timeout + (window or reconcile.DEFAULT_SETTLE) + 60
end

--- h:<row.name>(args..., opts) for a row that spends: see the module's text.
function M.run(handle, row, args, opts)
  if handle.error then return nil, handle.error end
  local call, err = calls.begin(handle.client or handle, opts, plan.option_names(row))
  if not call then return nil, err end
  return M.spend(handle, row, args, call)
end

--- The spend, under the Call `call` (M.run's, or a flow's such as top_up's).
function M.spend(handle, row, args, call)
  if handle.error then return nil, handle.error end
  local client = handle.client or handle -- the client is its own handle
  local o, err = M.check_options(call.opts)
  if not o then return nil, err end
  -- bad input sends nothing: not even the price's reads
  local req, values = plan.request(row, handle, call.opts, unpack(args, 1, plan.arity(row)))
  if not req then return nil, values end
  local jobs
  jobs, err = settings.jobs(call.opts, client.jobs)
  if not jobs then return nil, err end
  local s = setmetatable({ handle = handle, client = client, row = row, args = args, call = call, options = o,
    req = req, values = values, cap = o.cap, evidence = evidence[row.evidence] }, Spend)
  -- one at a time on the same thing: a second spend waits, then sees what
  -- the first did
  return exclusive.run(M.key(handle, row), call, client.clock, guarded, s, jobs)
end

return M
