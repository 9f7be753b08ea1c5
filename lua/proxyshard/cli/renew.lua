--- `proxyshard renew ORDER... | --expiring DAYS --max-total DOLLARS`:
-- renew orders under one cap (one order may go without: its price, shown
-- and confirmed, is its cap):
--
-- 1. Price: each order's renewal estimate (the API quotes none: the price
--    of a new order like it), several orders at a time (client:map); the
--    renewal is asked with a confirm that says no, so nothing is sent.
-- 2. Reserve: in the orders' order (soonest expiry first with
--    --expiring), each price is taken from the cap before anything is
--    bought (proxyshard.cli.batch); an order whose price does not fit what
--    is left, or that has no price, is not renewed (`budget`).
-- 3. Confirm once for all (or --yes; --dry-run stops here), then renew each
--    reserved order with order:renew{ max_total = its reservation } under
--    the account's lock and with the journal, so a renewal whose estimate
--    rose is refused rather than bought above its share, and a run that
--    dies leaves what it sent on disk (`proxyshard pending`).
-- --expiring DAYS takes every order on hold (the API renews no other: an
-- active order renews itself when its auto-renewal is on) whose date is
-- within DAYS days (or past), soonest first; the active ones that expire
-- within DAYS are named on stderr, not renewed.
-- @module proxyshard.cli.renew
local errors = require "proxyshard.errors"
local validate = require "proxyshard.check.validate"
local values = require "proxyshard.cli.values"
local settings = require "proxyshard.check.settings"
local order_set = require "proxyshard.cli.order_set"
local batch = require "proxyshard.cli.batch"
local progress = require "proxyshard.cli.progress"
local render = require "proxyshard.cli.render"
local base = require "proxyshard.model.base"

local ipairs = ipairs
local tostring = tostring
local format = string.format

local M = {}

M.COLUMNS = { "order_id", "days_left", "price", "cost", "outcome" }

M.command = {
  name = "renew",
  columns = M.COLUMNS, -- for --columns, checked before anything is renewed
  serves = "order.renew",
  summary = "renew orders (on hold, or about to expire) at an estimated price; many under one --max-total",
  usage = "proxyshard renew [ORDER... | --expiring DAYS] [--max-total DOLLARS] [--concurrency N] [--reconcile] "
    .. "[--settle SECONDS] [--yes] [--dry-run]",
}

function M.command.configure(cmd, helpers)
  cmd:argument("orders", "order ids (or --expiring DAYS)"):args("*"):argname("ORDER"):target("orders")
  cmd:option("--expiring", "every order on hold whose date is within DAYS days or past (the API renews on-hold "
    .. "orders only; active ones expiring within DAYS are named, not renewed)")
    :argname("DAYS"):target("expiring")
  cmd:option("--max-total", 'the most to spend, in dollars ("25.00", or "25"), over all the orders together '
    .. "(needed for more than one)"):argname("DOLLARS"):target("max_total")
  cmd:option("--concurrency", format("orders handled at once (default %d)", order_set.DEFAULT_CONCURRENCY))
    :argname("N"):target("concurrency")
  cmd:flag("--reconcile", "when a renewal's answer is lost, re-read the order to find out (instead of exit 4)")
    :target("reconcile")
  cmd:option("--settle", "how long --reconcile re-reads (default 10)"):argname("SECONDS"):target("settle")
  helpers.spending(cmd)
  cmd:epilog("The library call: client:order(ID):renew{ max_total = ..., reconcile = ... } per order.")
end

-- The orders to renew: the ids given, or those expiring; each once. Their
-- days left (by id) when known. nil, err for a bad command line.
local function targets(ctx, client, args, concurrency)
  if args.expiring and #args.orders > 0 then
    return nil, errors.invalid("--expiring", "and a list of orders are two lists: give one")
  end
  if not args.expiring then return order_set.ids(client, args) end
  local days, err = validate.quantity(values.integer(args.expiring), "--expiring", 0)
  if not days then return nil, err end
  local lines, list_err, _, failures = require("proxyshard.cli.orders").lines(client, { status = "all",
    every = true, expiring = days, concurrency = concurrency }, ctx.sys.now())
  if not lines then return nil, list_err end
  -- an order that could not be read might be on hold: renew nothing blind
  if #failures > 0 then return nil, failures[1] end
  local ids, left = {}, {}
  for _, l in ipairs(lines) do
    if l.status == "on-hold" then
      ids[#ids + 1] = l.order_id
      left[l.order_id] = l.days_left
    elseif l.status == "active" then
      ctx:err(format("proxyshard: order %d expires in %d days: it is active, which the API does not renew "
        .. "(auto-renewal %s)\n", l.order_id, l.days_left, l.auto_renewal and "is on" or "is off: "
        .. "`proxyshard set-auto-renewal " .. l.order_id .. " true`"))
    end
  end
  return ids, {}, left
end

-- An order's renewal price, asked with a confirm that says no: the
-- price shown ({ total, text, why, quote }), or nil, err.
local function price_of(client, id)
  local shown
  local _, err = client:order(id):renew { confirm = function(price) shown = price return false end }
  if shown then return shown end
  return nil, err or errors.new("api", "the renewal showed no price")
end

local function outcome(p)
  if p.err then return tostring(p.err) end
  if p.renewed then return "renewed" end
  if p.dry_run then return "would renew" end
  return "not renewed"
end

-- The report: a document for --json and the text.
local function report(ctx, cap, plans, spent, dry_run)
  local rows, orders, renewed = {}, {}, 0
  for i, p in ipairs(plans) do
    if p.err then ctx:speak(p.err) end -- in the command's words
    if p.renewed then renewed = renewed + 1 end
    rows[i] = { order_id = p.order_id, days_left = p.days_left, price = p.price, cost = p.cost, outcome = outcome(p) }
    orders[i] = { order_id = p.order_id, days_left = p.days_left, price = p.price, cost = p.cost,
      renewed = p.renewed or false, error = p.err and render.error(p.err) }
  end
  local summary
  if dry_run then
    summary = format("dry run, nothing renewed: %s for the orders that fit (cap %s)", tostring(spent), tostring(cap))
  elseif renewed == 0 then
    summary = format("nothing renewed (%s of the cap %s spent)", tostring(spent), tostring(cap))
  else
    summary = format("renewed %d orders for %s in all (cap %s)", renewed, tostring(spent), tostring(cap))
  end
  local doc = { max_total = cap, spent = spent, renewed = renewed, orders = base.list(nil, orders),
    dry_run = dry_run or nil }
  return doc, ctx:with_note(ctx:table(rows, M.COLUMNS), summary)
end

--- Many orders under one cap; under the run's lock when it buys.
function M.run(ctx, args, client, ids, left, cap, concurrency)
  local money = require "proxyshard.money"
  -- 1. price
  local bar = progress.for_run(ctx, #ids, "pricing")
  local read, err = order_set.each(client, ids, function(id)
    local p, perr = price_of(client, id)
    bar:step(tostring(id))
    return p, perr
  end, concurrency)
  if not read then return ctx:fail(err) end
  local plans, failures = {}, {}
  for i, r in ipairs(read) do
    local id = ids[i]
    local p = { order_id = id, days_left = left[id], wanted = true }
    if r.value then
      p.price, p.no_price, p.text, p.quote = r.value.total, r.value.why, r.value.text, r.value.quote
    else
      p.err = r.err
      failures[#failures + 1] = r.err
    end
    plans[i] = p
  end
  -- 2. reserve (one order without --max-total: its own price)
  cap = cap or (#plans == 1 and plans[1].price) or nil
  if not cap then
    for _, p in ipairs(plans) do
      if not p.err then
        p.err = errors.new("budget", format("the renewal of order %d has no price to show (%s): nothing was "
          .. "renewed", p.order_id, p.no_price or "none given"))
        failures[#failures + 1] = p.err
      end
    end
    local doc, text = report(ctx, require("proxyshard.money").zero, plans, require("proxyshard.money").zero, false)
    return batch.finish(ctx, "renew", doc, text, failures)
  end
  local to_buy, reserved = batch.reserve(plans, cap, failures, function(p)
    return format("the renewal of order %d", p.order_id)
  end)
  if args.dry_run then
    bar:finish()
    for _, p in ipairs(to_buy) do p.dry_run, p.cost = true, p.reserved end
    local doc, text = report(ctx, cap, plans, reserved, true)
    return batch.finish(ctx, "renew", doc, text, failures, { dry_run = true })
  end
  -- 3. confirm, renew
  if #to_buy > 0 and not args.yes then bar:finish() end
  local lines = {}
  for _, p in ipairs(to_buy) do lines[#lines + 1] = "  " .. (p.text or format("order %d", p.order_id)) end
  local confirmed, refusal = batch.confirm(ctx, args, lines, reserved, cap)
  if not confirmed then return refusal end
  bar:stage("renewing", #to_buy)
  local done
  done, err = order_set.each(client, to_buy, function(p)
    local result, rerr = client:order(p.order_id):renew { max_total = p.reserved, journal = true,
      reconcile = args.reconcile or nil, settle = args.settle_seconds, confirm = function() return true end }
    bar:step(tostring(p.order_id))
    return result, rerr
  end, concurrency)
  bar:finish()
  if not done then return ctx:fail(err) end
  for i, r in ipairs(done) do
    local p, result = to_buy[i], r.value
    if result then
      p.renewed = true
      p.cost = result.charged or result.estimated or p.reserved
    else
      p.err = r.err
      failures[#failures + 1] = r.err
      -- an unknown outcome may have spent its reservation: it stays counted
      if r.err.kind == "unknown_outcome" then p.cost = p.reserved end
    end
  end
  local doc, text = report(ctx, cap, plans, batch.spent(money, plans), false)
  return batch.finish(ctx, "renew", doc, text, failures)
end

function M.command.run(ctx, args)
  local concurrency, err = order_set.concurrency(args.concurrency)
  if not concurrency then return ctx:fail(err) end
  local cap
  if args.max_total then
    cap, err = validate.amount(values.dollars(args.max_total), "max_total")
    if not cap then return ctx:fail(err) end
  end
  if #args.orders == 0 and not args.expiring then
    return ctx:fail(errors.invalid("orders", "are missing: give order ids, or --expiring DAYS"))
  end
  -- one order may go without a cap: its own price, shown and confirmed, is
  -- its cap (one JSON shape either way: the report)
  if not cap and (args.expiring or #args.orders > 1) then
    return ctx:fail(errors.invalid("--max-total", "is needed to renew more than one order: the most to spend over "
      .. "them all, in dollars"))
  end
  if args.settle then
    args.settle_seconds, err = settings.seconds(values.number(args.settle), "--settle")
    if not args.settle_seconds then return ctx:fail(err) end
  end
  local client
  client, err = ctx:client()
  if not client then return ctx:fail(err) end
  local ids, twice, left = targets(ctx, client, args, concurrency)
  if not ids then return ctx:fail(twice) end
  for _, id in ipairs(twice) do
    ctx:err(format("proxyshard: order %d is given more than once: it is renewed once\n", id))
  end
  if args.dry_run then return M.run(ctx, args, client, ids, left or {}, cap, concurrency) end
  return ctx:spending_run(client, M.run, ctx, args, client, ids, left or {}, cap, concurrency)
end

return M
