--- order:top_up_p0f(free [, opts]): make sure the order has at least
-- `free` unused p0f slots — read it, and buy only the slots missing
-- (nothing when there are enough), through the one spending flow. Run
-- twice — say, a cron job killed half-way and started again — it never
-- buys twice what one run would: the second run reads the slots the first
-- bought.
-- @module proxyshard.flows.top_up
local errors = require "proxyshard.errors"
local operations = require "proxyshard.operations"
local engine = require "proxyshard.engine"
local spend = require "proxyshard.flows.spend"
local plan = require "proxyshard.engine.plan"
local calls = require "proxyshard.engine.call"
local validate = require "proxyshard.check.validate"
local settings = require "proxyshard.check.settings"
local exclusive = require "proxyshard.jobs.exclusive"
local lock = require "proxyshard.jobs.lock"
local top_up = require "proxyshard.model.top_up"

local format = string.format

local M = {}

M.ADDON = "p0f_slots"

-- a top-up is a purchase of the missing slots: the same options
local PURCHASE = operations.find("addon", "purchase")
local FETCH = operations.find("order", "fetch")

--- opts: the spending options (max_total for what is missing, reconcile,
-- settle, confirm) and the call options, for every request it makes.
-- Returns what it did: { order_id, wanted, free_before, bought,
-- free_after, receipt }, or nil, err.
function M.run(order, free, opts)
  if order.error then return nil, order.error end
  local wanted, err = validate.quantity(free, "free", 0)
  if not wanted then return nil, err end
  local call
  call, err = calls.begin(order.client, opts, plan.option_names(PURCHASE))
  if not call then return nil, err end
  -- the purchase's options, checked before the read: a bad cap is refused
  -- with nothing sent, also when nothing turns out to be missing
  local checked
  checked, err = spend.check_options(call.opts)
  if not checked then return nil, err end
  local jobs
  jobs, err = settings.jobs(call.opts, order.client.jobs)
  if not jobs then return nil, err end
  local addon = order:addon(M.ADDON)
  -- the read and the purchase under the purchase's key, and under the
  -- run's lock when asked for: a second top-up of this order, in this
  -- process or another, waits, then reads what this one bought
  return exclusive.run(spend.key(addon, PURCHASE), call, order.client.clock, lock.around, order.client, jobs,
    spend.lock_ttl(call), M.top_up, order, addon, wanted, call)
end

--- The read and the purchase of what is missing, under `call`.
-- @local
function M.top_up(order, addon, wanted, call)
  local info, err = engine.invoke(order, FETCH, call)
  if not info then return nil, err end
  local have = info:p0f_slots_free()
  if have == nil then
    return nil, errors.new("decode", format("order %d does not show its p0f slots (p0f_slots_available, "
      .. "p0f_slots_used): cannot tell what is missing, so nothing was bought", order.id),
      { method = "GET", path = format("/user/api/orders/%d", order.id) })
  end
  local result = { order_id = order.id, wanted = wanted, free_before = have, bought = 0, free_after = have }
  if have >= wanted then return top_up.new(result) end
  local missing = wanted - have
  local receipt
  receipt, err = spend.spend(addon, PURCHASE, { missing }, call)
  if not receipt then return nil, err end
  result.bought, result.free_after, result.receipt = missing, have + missing, receipt
  return top_up.new(result)
end

return M
