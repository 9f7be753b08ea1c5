--- `proxyshard top-up --free N --max-total DOLLARS [--all-active | ORDER...]`:
-- make sure each order has N unused p0f slots, over many orders at once,
-- under one total cap.
--
-- 1. Read: each order's free slots, and a quote for those missing (several
--    orders at a time, with client:map when the library has it).
-- 2. Reserve: in the orders' order, each quote's total is taken from the
--    cap before anything is bought; an order whose quote no longer fits is
--    not bought (`budget`). So orders bought at the same time can never
--    spend more than the cap together.
-- 3. Buy: order:top_up_p0f(N, { max_total = what was reserved }) for each
--    reserved order; it reads the order again and buys only what is still
--    missing, and nothing when the price rose above the reservation. A
--    reservation is given back when nothing was bought, and kept when the
--    outcome is unknown.
-- Run twice, the second run finds the slots there and buys nothing. With
-- --all-active, an active order the add-on is not sold for (the quote is
-- refused: `validation`, as for a residential order) is skipped, not an
-- error; an order named on the command line is never skipped.
-- @module proxyshard.cli.topup
local errors = require "proxyshard.errors"
local validate = require "proxyshard.check.validate"
local values = require "proxyshard.cli.values"
local progress = require "proxyshard.cli.progress"
local render = require "proxyshard.cli.render"
local base = require "proxyshard.model.base"
local order_set = require "proxyshard.cli.order_set"
local batch = require "proxyshard.cli.batch"

local ipairs = ipairs
local tostring = tostring
local format = string.format

local M = {}

M.ADDON = "p0f_slots"
M.DEFAULT_CONCURRENCY = order_set.DEFAULT_CONCURRENCY

-- Step 1 for one order: { order_id, free_before, missing, quote } or nil, err.
local function plan(client, id, wanted)
  local order = client:order(id)
  local info, err = order:fetch()
  if not info then return nil, err end
  local have = info:p0f_slots_free()
  if have == nil then
    return nil, errors.new("decode", format("order %d does not show its p0f slots: nothing was bought", id))
  end
  local p = { order_id = id, free_before = have, missing = wanted > have and wanted - have or 0 }
  if p.missing == 0 then p.free_after = have end
  if p.missing > 0 then
    p.quote, err = order:addon(M.ADDON):quote(p.missing)
    if not p.quote then return nil, err end
  end
  return p
end

-- The line of one order in the text table.
local function outcome(p)
  if p.err then return tostring(p.err) end
  if p.skipped then return "skipped: " .. p.skipped end
  if p.bought and p.bought > 0 then return "bought" end
  if p.missing == 0 then return "enough" end
  if p.dry_run then return "would buy" end
  return "nothing bought"
end

-- The result as a document (for --json) and as text: a table of the
-- orders and a line of totals.
local function report(ctx, wanted, cap, plans, spent, dry_run)
  local rows, orders, bought, touched = {}, {}, 0, 0
  for i, p in ipairs(plans) do
    if p.err then ctx:speak(p.err) end -- in the command's words
    local n = p.bought or 0
    bought = bought + n
    if n > 0 then touched = touched + 1 end
    rows[i] = { order_id = p.order_id, free_before = p.free_before, missing = p.missing, bought = n, cost = p.cost,
      free_after = p.free_after, outcome = outcome(p) }
    orders[i] = { order_id = p.order_id, free_before = p.free_before, missing = p.missing, bought = n, cost = p.cost,
      free_after = p.free_after, quote = p.quote, error = p.err and render.error(p.err), skipped = p.skipped }
  end
  local summary
  if dry_run then
    local would = 0
    for _, p in ipairs(plans) do if p.dry_run then would = would + p.missing end end
    summary = format("dry run, nothing bought: %d p0f slots would cost %s (cap %s)", would, tostring(spent),
      tostring(cap))
  elseif bought == 0 then
    summary = format("nothing bought (%s of the cap %s spent)", tostring(spent), tostring(cap))
  else
    summary = format("bought %d p0f slots on %d orders for %s in all (cap %s)", bought, touched, tostring(spent),
      tostring(cap))
  end
  local doc = { free = wanted, max_total = cap, spent = spent, bought = bought, orders = base.list(nil, orders),
    dry_run = dry_run or nil }
  return doc, ctx:with_note(ctx:table(rows, M.COLUMNS), summary)
end

M.COLUMNS = { "order_id", "free_before", "missing", "bought", "cost", "free_after", "outcome" }

--- The command (see proxyshard.cli.commands).
M.command = {
  name = "top-up",
  columns = M.COLUMNS, -- for --columns, checked before anything is bought
  summary = "make sure orders have N unused p0f slots, buying only what is missing, under one total cap",
  usage = "proxyshard top-up --free N --max-total DOLLARS [--all-active | ORDER...] [--concurrency N] "
    .. "[--reconcile] [--yes] [--dry-run]",
}

function M.command.configure(cmd, helpers)
  cmd:argument("orders", "order ids (or --all-active)"):args("*"):argname("ORDER"):target("orders")
  cmd:option("--free", "the unused p0f slots each order should have"):argname("N"):count(1):target("free")
  cmd:option("--max-total", 'the most to spend over all orders together, in dollars ("5.00", or "5")')
    :argname("DOLLARS"):count(1):target("max_total")
  cmd:flag("--all-active", "every active order the add-on is sold for"):target("all_active")
  cmd:option("--concurrency", format("orders handled at once (default %d)", M.DEFAULT_CONCURRENCY))
    :argname("N"):target("concurrency")
  cmd:flag("--reconcile", "when a purchase's answer is lost, re-read the order to find out (instead of exit 4)")
    :target("reconcile")
  helpers.spending(cmd)
  cmd:epilog("The library call: order:top_up_p0f(free, { max_total = ..., reconcile = ... }) per order.")
end

function M.command.run(ctx, args)
  if args.dry_run then return M.run(ctx, args) end -- a dry run only reads: no lock, no journal
  local client, err = ctx:client()
  if not client then return ctx:fail(err) end
  return ctx:spending_run(client, M.run, ctx, args)
end

--- The top-up, under the run's lock when it buys.
function M.run(ctx, args)
  local money = require "proxyshard.money"
  local wanted, err = validate.quantity(values.integer(args.free), "free", 0)
  if not wanted then return ctx:fail(err) end
  local cap
  cap, err = validate.amount(values.dollars(args.max_total), "max_total")
  if not cap then return ctx:fail(err) end
  -- client:map's own range, checked before any request
  local concurrency
  concurrency, err = order_set.concurrency(args.concurrency)
  if not concurrency then return ctx:fail(err) end
  local client
  client, err = ctx:client()
  if not client then return ctx:fail(err) end
  local ids, twice = order_set.ids(client, args)
  if not ids then return ctx:fail(twice) end
  for _, id in ipairs(twice) do
    ctx:err(format("proxyshard: order %d is given more than once: it is topped up once\n", id))
  end

  -- 1. read
  local bar = progress.for_run(ctx, #ids, "reading")
  local read
  read, err = order_set.each(client, ids, function(id)
    local p, perr = plan(client, id, wanted)
    bar:step(tostring(id))
    return p, perr
  end, concurrency)
  if not read then return ctx:fail(err) end
  local plans, failures = {}, {}
  for i, r in ipairs(read) do
    plans[i] = r.value or { order_id = ids[i], err = r.err }
    if r.err and args.all_active and r.err.kind == "validation" then
      -- an active order the add-on is not sold for (a residential one):
      -- --all-active means every order that can have p0f slots
      plans[i].err, plans[i].skipped = nil, r.err.message
    elseif r.err then
      failures[#failures + 1] = r.err
    end
  end

  -- 2. reserve, in order
  for _, p in ipairs(plans) do
    p.wanted = not p.err and not p.skipped and p.missing > 0
    p.price = p.wanted and p.quote.total or nil
    p.no_price = "the quote gave no total"
  end
  local to_buy, reserved = batch.reserve(plans, cap, failures, function(p)
    return format("order %d: %d slots", p.order_id, p.missing)
  end)

  if args.dry_run then
    bar:finish()
    for _, p in ipairs(to_buy) do p.dry_run, p.cost = true, p.reserved end
    local doc, text = report(ctx, wanted, cap, plans, reserved, true)
    return batch.finish(ctx, "top-up", doc, text, failures, { dry_run = true })
  end
  if #to_buy > 0 and not args.yes then bar:finish() end
  local lines = {}
  for _, p in ipairs(to_buy) do lines[#lines + 1] = "  " .. tostring(p.quote) end
  local confirmed, refusal = batch.confirm(ctx, args, lines, reserved, cap)
  if not confirmed then return refusal end

  -- 3. buy
  bar:stage("buying", #to_buy)
  local bought
  bought, err = order_set.each(client, to_buy, function(p)
    local result, berr = client:order(p.order_id):top_up_p0f(wanted, { max_total = p.reserved, journal = true,
      reconcile = args.reconcile or nil })
    bar:step(tostring(p.order_id))
    return result, berr
  end, concurrency)
  bar:finish()
  if not bought then return ctx:fail(err) end
  for i, r in ipairs(bought) do
    local p, result = to_buy[i], r.value
    if result then
      p.bought, p.free_after = result.bought, result.free_after
      local receipt = result.receipt
      p.cost = receipt and (receipt.charged or (receipt.quote and receipt.quote.total)) or nil
      if result.bought > 0 and not p.cost then p.cost = p.reserved end
    else
      p.err = r.err
      failures[#failures + 1] = r.err
      -- an unknown outcome may have spent its reservation: it stays counted
      if r.err.kind == "unknown_outcome" then p.cost = p.reserved end
    end
  end
  local doc, text = report(ctx, wanted, cap, plans, batch.spent(money, plans), false)
  return batch.finish(ctx, "top-up", doc, text, failures)
end

return M
