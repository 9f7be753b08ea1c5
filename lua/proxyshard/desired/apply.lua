--- plan:apply{ max_total = ..., reconcile = ... }: make a plan true, once.
--
--   1. the account's lock (proxyshard.jobs.lock) for the whole apply: a
--      second apply, top-up or renew waits (`lock_wait`) or is `locked`;
--   2. re-read the account and recompute the actions: a plan whose state
--      changed since it was made (its digest), or whose actions are no
--      longer the ones it shows, is refused (`stale`): nothing is done;
--   3. re-price: each spending action's price now is held to the plan's
--      line (a price that rose is refused) and reserved from `max_total`
--      in order (what no longer fits is refused, `budget`);
--   4. act in the plan's order: free actions as plain calls, spending ones
--      through the one spending flow (proxyshard.flows.spend) with the
--      reservation as their cap and the journal on, so each spend is on
--      disk before it is sent;
--   5. roll forward on a failure (Terraform's rule): after a failed or
--      unknown spend nothing more is spent; after a failure, the later
--      actions of the same order or sub-user are skipped; the rest go on;
--   6. re-read and record the state left (proxyshard.desired.record), the
--      base of the next plan's drift.
-- Run again, apply converges: it re-reads before acting, so what a killed
-- or failed run bought is not bought again, and the journal settles a
-- spend whose answer was lost before the same thing is bought.
--
-- opts: max_total (needed when the plan spends: integer cents, money, or
-- dollars as text), reconcile, settle (as for a spend), lock_wait
-- (seconds), state_dir, concurrency, command (named in the lock file).
-- Returns the report (report.ok false when an action failed: see
-- report.errors), or nil, err when nothing was done.
-- @module proxyshard.desired.apply
local errors = require "proxyshard.errors"
local json = require "proxyshard.wire.json"
local options = require "proxyshard.check.options"
local validate = require "proxyshard.check.validate"
local settings = require "proxyshard.check.settings"
local reconcile = require "proxyshard.flows.reconcile"
local lock = require "proxyshard.jobs.lock"
local diff = require "proxyshard.desired.diff"
local record = require "proxyshard.desired.record"
local observe = require "proxyshard.desired.observe"

local type = type
local ipairs = ipairs
local pairs = pairs
local tostring = tostring
local setmetatable = setmetatable
local format = string.format
local concat = table.concat

local M = {}

M.OPTIONS = options.set({ "max_total", "reconcile", "settle", "lock_wait", "state_dir", "concurrency", "command" })

local function money() return require "proxyshard.money" end

local function checked(opts)
  opts = opts or {}
  if type(opts) ~= "table" then
    return nil, errors.invalid("opts", "must be a table, e.g. { max_total = \"5.00\" }")
  end
  local bad = options.unknown(opts, M.OPTIONS, "opts")
  if bad then return nil, bad end
  local o = { reconcile = opts.reconcile == true, concurrency = opts.concurrency, state_dir = opts.state_dir,
    command = opts.command }
  local err
  if opts.max_total ~= nil then
    o.cap, err = validate.amount(opts.max_total, "max_total")
    if not o.cap then return nil, err end
  end
  o.settle, err = reconcile.settle(opts)
  if not o.settle then return nil, err end
  if opts.settle == nil then o.settle = nil end
  local jobs
  jobs, err = settings.jobs({ lock_wait = opts.lock_wait, state_dir = opts.state_dir })
  if not jobs then return nil, err end
  o.lock_wait = opts.lock_wait
  if opts.command ~= nil and type(opts.command) ~= "string" then
    return nil, errors.invalid("command", "must be text (named in the lock file)")
  end
  return o
end

local Report = {}
Report.__index = Report
Report.__name = "proxyshard.apply_report"

local OUTCOME_WORDS = { done = "done", failed = "failed", unknown = "UNKNOWN", skipped = "not done",
  refused = "refused" }

function Report:__tostring()
  local text = self:text()
  return self.redact and self.redact(text) or text
end

--- The text of __tostring, before redaction.
-- @local
function Report:text()
  local lines = {}
  for i, a in ipairs(self.actions) do
    local cost = a.cost and (" — " .. tostring(a.cost)) or ""
    local why = a.error and (": " .. tostring(a.error.message or a.error)) or (a.why and (": " .. a.why) or "")
    lines[#lines + 1] = format("  %d. %-8s %s%s%s", i, OUTCOME_WORDS[a.outcome] or a.outcome, a.what, cost, why)
  end
  local n = self.counts
  lines[#lines + 1] = format("%s: %d done, %d failed, %d unknown, %d not done; spent %s%s", self.ok and "applied"
    or "applied in part", n.done, n.failed + n.refused, n.unknown, n.skipped, tostring(self.spent),
    self.max_total and (" (cap " .. tostring(self.max_total) .. ")") or "")
  if n.unknown > 0 then
    lines[#lines + 1] = "an unknown outcome may have spent: `proxyshard pending --settle` finds out; apply again "
      .. "then converges without buying twice"
  elseif not self.ok then
    lines[#lines + 1] = "apply again to go on: it re-reads, and buys only what is still missing"
  end
  if self.record_error then lines[#lines + 1] = "note: " .. tostring(self.record_error.message) end
  return concat(lines, "\n")
end

--- The report as plain data (money as `_cents`).
function Report:to_json()
  local actions = {}
  for i, a in ipairs(self.actions) do
    local t = {}
    for k, v in pairs(a) do
      if k ~= "price" and k ~= "cost" and k ~= "reserved" and k ~= "error" then t[k] = v end
    end
    t.price_cents = a.price and a.price.cents or nil
    t.cost_cents = a.cost and a.cost.cents or nil
    t.reserved_cents = a.reserved and a.reserved.cents or nil
    if a.error then t.error = { kind = a.error.kind, message = a.error.message } end
    actions[i] = t
  end
  return { ok = self.ok, actions = json.array(actions), spent_cents = self.spent.cents,
    max_total_cents = self.max_total and self.max_total.cents or nil, done = self.counts.done,
    failed = self.counts.failed + self.counts.refused, unknown = self.counts.unknown, skipped = self.counts.skipped }
end

-- The call that carries out action `a`, with `cap` (its reservation) for a spend.
local function act(client, a, cap, o)
  local order = a.order_id and client:order(a.order_id)
  local k = a.kind
  if k == "set_tag" then return order:set_tag(a.tag) end
  if k == "set_auto_renewal" then return order:set_auto_renewal(a.enabled) end
  if k == "set_deletion" then return order:set_deletion(a.items) end
  if k == "set_signatures" then return order:set_signatures(a.items) end
  if k == "create_sub_user" then
    return client:residential(a.proxy_type):create_sub_user { name = a.name, data = a.gb }
  end
  if k == "add_data" then return client:residential(a.proxy_type):sub_user(a.user_id):add_data(a.gb) end
  local spend = { max_total = cap, journal = o.state_dir or true, reconcile = o.reconcile or nil, settle = o.settle }
  if k == "renew" then return order:renew(spend) end
  if k == "buy_p0f" then return order:addon("p0f_slots"):purchase(a.qty, spend) end
  error("proxyshard.desired.apply: no such action " .. tostring(k))
end

-- Is the fresh list of actions the plan's (by what they do, not their words)?
local function same_actions(planned, fresh)
  if #planned ~= #fresh then return false end
  for i, a in ipairs(planned) do
    if diff.key(a) ~= diff.key(fresh[i]) then return false end
  end
  return true
end

local function stale(plan, why)
  return errors.new("stale", format("the plan%s no longer fits the account: %s; nothing was done (make a new "
    .. "plan)", plan.saved and (" saved in " .. plan.saved) or "", why), { digest = plan.digest })
end

-- Reserve each spending action's price from the cap, in order: a.reserved,
-- or a.outcome = "refused" with its error.
local function reserve(actions, planned, cap)
  local left = cap
  for i, a in ipairs(actions) do
    if a.spends then
      local line, why = planned[i].price, nil
      if a.price == nil then
        why = format("%s has no price to hold to max_total (%s)", a.what, tostring(a.price_note or "none given"))
      elseif line ~= nil and a.price > line then
        why = format("%s now costs %s, more than the plan's %s", a.what, tostring(a.price), tostring(line))
      elseif line == nil and planned[i].spends then
        why = format("%s had no price in the plan", a.what)
      elseif a.price > left then
        why = format("%s costs %s, above the %s left of max_total %s", a.what, tostring(a.price), tostring(left),
          tostring(cap))
      end
      if why then
        a.outcome, a.error = "refused", errors.new("budget", why .. ": nothing was bought", { bought = false })
      else
        a.reserved = a.price
        left = left - a.price
      end
    end
  end
end

-- The account re-read for `plan`: what it looks like now ({ obs, actions,
-- ... }, proxyshard.desired.plan.look), or nil and a `stale` error when
-- the plan no longer fits it.
local function fresh(plan, o)
  local look = require("proxyshard.desired.plan").look
  local seen, err = look(plan.client, plan.desired, { concurrency = o.concurrency, state_dir = o.state_dir,
    now = plan.options and plan.options.now })
  if not seen then return nil, err end
  if seen.obs.digest ~= plan.digest then
    return nil, stale(plan, "the account changed since it was made (its digest differs)")
  end
  if not same_actions(plan.actions, seen.actions) then
    return nil, stale(plan, "the actions it would take now are not the ones it shows")
  end
  return seen
end

--- Does `plan` still fit the account? true, or nil and the `stale` error
-- (or the error of a read). Reads, changes nothing: the command asks it
-- of a saved plan before showing it (apply asks again, under the lock).
function M.check(plan, opts)
  local o, err = checked(opts)
  if not o then return nil, err end
  o.state_dir = o.state_dir or (plan.options and plan.options.state_dir)
  local seen
  seen, err = fresh(plan, o)
  if not seen then return nil, err end
  return true
end

-- Carry out the actions under the lock; the report.
local function carry_out(plan, o)
  local client = plan.client
  local seen, err = fresh(plan, o)
  if not seen then return nil, err end
  local actions = seen.actions
  local spending = 0
  for _, a in ipairs(actions) do
    if a.spends then spending = spending + 1 end
  end
  if spending > 0 and not o.cap then
    return nil, errors.invalid("max_total", format("is needed: the plan has %d spending action%s (%s in all)",
      spending, spending == 1 and "" or "s", plan:total_text()))
  end
  if o.cap then reserve(actions, plan.actions, o.cap) end

  local report = setmetatable({ actions = actions, spent = money().zero, max_total = o.cap, errors = {},
    counts = { done = 0, failed = 0, unknown = 0, skipped = 0, refused = 0 } }, Report)
  local spending_stopped, broken, flags = false, {}, {}
  for _, a in ipairs(actions) do
    if a.outcome == "refused" then
      report.errors[#report.errors + 1] = a.error
      broken[a.target] = true
    elseif broken[a.target] then
      a.outcome, a.why = "skipped", "an earlier action on it did not succeed"
    elseif a.spends and spending_stopped then
      a.outcome, a.why = "skipped", "spending stopped after a spend that did not succeed"
    else
      local result, aerr = act(client, a, a.reserved, o)
      if result ~= nil then
        a.outcome = "done"
        if a.spends then
          a.cost = type(result) == "table" and (result.charged or result.estimated) or a.reserved
          report.spent = report.spent + (a.cost or money().zero)
        end
        if a.kind == "set_deletion" then
          local set = flags[a.order_id] or {}
          for _, item in ipairs(a.items) do set[item.ip] = item.value end
          flags[a.order_id] = set
        end
      else
        a.error = aerr
        report.errors[#report.errors + 1] = aerr
        broken[a.target] = true
        if aerr.kind == "unknown_outcome" then
          a.outcome = "unknown"
          -- it may have spent its reservation: counted as spent
          if a.spends then
            a.cost = a.reserved
            report.spent = report.spent + a.reserved
          end
        else
          a.outcome = "failed"
        end
        if a.spends then spending_stopped = true end
        if aerr.kind == "interrupted" or aerr.cause == "interrupted" then
          for _, later in ipairs(actions) do
            if later.outcome == nil then later.outcome, later.why = "skipped", "interrupted" end
          end
          break
        end
      end
    end
  end
  for _, a in ipairs(actions) do
    local k = a.outcome
    if k == nil then a.outcome, k = "skipped", "skipped" end
    report.counts[k] = report.counts[k] + 1
  end
  report.ok = #report.errors == 0
  -- a server that echoed the token marks what it answered (proxyshard.handles)
  report.redact = require("proxyshard.engine.call").echoed(client)
  -- the state left, for the next plan's drift (what we did is not drift)
  local after
  after, err = observe.read(client, plan.desired, { concurrency = o.concurrency })
  if after then
    local ok
    ok, err = record.write(client, o.state_dir, after, flags)
    if not ok then report.record_error = err end
  else
    report.record_error = errors.new(err.kind, "the state after the apply could not be read, so it was not "
      .. "recorded (the next plan reports no drift for it): " .. tostring(err.message))
  end
  return report
end

--- plan:apply(opts): see the module's text.
function M.run(plan, opts)
  local o, err = checked(opts)
  if not o then return nil, err end
  -- the plan's state directory, unless apply is given its own
  o.state_dir = o.state_dir or (plan.options and plan.options.state_dir)
  local client = plan.client
  return lock.held(client, { dir = o.state_dir or client.jobs.state_dir, wait = o.lock_wait or client.jobs.lock_wait,
    command = o.command or "proxyshard apply (the library)" }, carry_out, plan, o)
end

M.Report = Report

return M
