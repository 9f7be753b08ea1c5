--- `proxyshard orders [--status S] [--expiring DAYS] [--offset N] [--limit N] [--all]`:
-- the orders with what a customer watches — status, expiry and days left,
-- IPs, auto-renewal, tag. The list answer has none of status and IPs, so
-- each order of the page is read too (several at a time, client:map).
-- --expiring DAYS reads every page and keeps the orders that expire
-- within DAYS days (or have expired), soonest first. The JSON result has
-- one shape, with or without --all: { orders = [...], count, next_offset }.
-- @module proxyshard.cli.orders
local errors = require "proxyshard.errors"
local validate = require "proxyshard.check.validate"
local values = require "proxyshard.cli.values"
local order_set = require "proxyshard.cli.order_set"
local time = require "proxyshard.wire.time"
local base = require "proxyshard.model.base"

local IP_PRODUCTS = require("proxyshard.model.order_info").IP_PRODUCTS

local ipairs = ipairs
local format = string.format
local sort = table.sort

local M = {}

--- The text table's columns.
M.COLUMNS = { "order_id", "product_name", "cycle_name", "status", "expires_at", "days_left", "ips", "auto_renewal",
  "tag" }


M.command = {
  name = "orders",
  serves = "client.orders",
  summary = "the orders: status, expiry and days left, IPs, auto-renewal and tag (--expiring DAYS: soonest first)",
  usage = "proxyshard orders [--status STATUS] [--expiring DAYS] [--offset N] [--limit N] [--all] [--concurrency N]",
}

function M.command.configure(cmd)
  cmd:option("--status", "active (default), on-hold, cancelled or all"):argname("STATUS"):target("status")
  cmd:option("--expiring", "only the orders that expire within DAYS days (or have expired), soonest first; "
    .. "reads every page"):argname("DAYS"):target("expiring")
  cmd:option("--offset", "the page's first order (default 0)"):argname("N"):target("offset")
  cmd:option("--limit", "orders on the page, 1 to 100 (default 20)"):argname("N"):target("limit")
  cmd:flag("--all", "every page"):target("all")
  cmd:option("--concurrency", format("orders read at once (default %d)", order_set.DEFAULT_CONCURRENCY))
    :argname("N"):target("concurrency")
  cmd:epilog("The library calls: client:orders{ status = ..., offset = ..., limit = ... } (one page), "
    .. "client:all_orders{ status = ... } (every page), and client:order(ID):fetch() for each.")
end

--- The command line checked before any request: the list's parameters,
-- the days, the concurrency; or nil, err.
function M.checked(args)
  local status, err = validate.order_status(args.status or "active", "--status")
  if not status then return nil, err end
  local c = { status = status }
  if args.expiring then
    c.expiring, err = validate.quantity(values.integer(args.expiring), "--expiring", 0)
    if not c.expiring then return nil, err end
  end
  if args.offset then
    c.offset, err = validate.offset(values.integer(args.offset), "--offset")
    if not c.offset then return nil, err end
  end
  if args.limit then
    c.limit, err = validate.limit(values.integer(args.limit), "--limit")
    if not c.limit then return nil, err end
  end
  c.every = args.all or c.expiring ~= nil
  if c.every and (c.offset or c.limit) then
    return nil, errors.invalid(args.all and "--all" or "--expiring",
      "reads every page: it takes no --offset or --limit")
  end
  c.concurrency, err = order_set.concurrency(args.concurrency)
  if not c.concurrency then return nil, err end
  return c
end

-- One order's line: the summary with the details' status, IPs and expiry.
local function line(summary, info, now)
  local expires = info.expires_at or summary.expires_at
  return {
    order_id = summary.order_id, product_name = summary.product_name or info.product_name,
    cycle_name = summary.cycle_name or info.cycle_name, status = info.status, expires_at = expires,
    days_left = time.days_left(expires, now),
    ips = IP_PRODUCTS[summary.product_name or info.product_name] and info.quantity or nil,
    auto_renewal = info.auto_renewal, tag = summary.tag or info.tag,
  }
end

--- The orders' lines for the checked options `c` (status, expiring,
-- offset, limit, every, concurrency), days counted from `now`: the lines,
-- the count, the next page's offset and the failures of the orders'
-- reads (a line whose order could not be read keeps what the list said);
-- or nil, err when the list itself could not be read.
function M.lines(client, c, now)
  local summaries, count, next_offset, err
  if c.every then
    summaries, err = client:all_orders { status = c.status }
    if not summaries then return nil, err end
    count = #summaries
  else
    local page
    page, err = client:orders { status = c.status, offset = c.offset, limit = c.limit }
    if not page then return nil, err end
    summaries, count, next_offset = page.orders, page.count, page.next_offset
  end
  -- an id the list gives that no order can have is not read (the read
  -- would be refused as the caller's mistake)
  local readable = {}
  for _, s in ipairs(summaries) do
    if validate.id(s.order_id, "order_id") then readable[#readable + 1] = s end
  end
  local read
  read, err = order_set.each(client, readable, function(s) return client:order(s.order_id):fetch() end,
    c.concurrency)
  if not read then return nil, err end
  local info, failures = {}, {}
  for i, r in ipairs(read) do
    if r.err then failures[#failures + 1] = r.err else info[readable[i]] = r.value end
  end
  local lines = {}
  for _, s in ipairs(summaries) do
    local l = line(s, info[s] or {}, now)
    if c.expiring == nil or (l.days_left ~= nil and l.days_left <= c.expiring) then lines[#lines + 1] = l end
  end
  if c.expiring then
    sort(lines, function(a, b)
      if a.days_left ~= b.days_left then return a.days_left < b.days_left end
      return (a.order_id or 0) < (b.order_id or 0)
    end)
    count = #lines
  end
  return lines, count, next_offset, failures
end

function M.command.run(ctx, args)
  local c, err = M.checked(args)
  if not c then return ctx:fail(err) end
  local client
  client, err = ctx:client()
  if not client then return ctx:fail(err) end
  local lines, count, next_offset, failures = M.lines(client, c, ctx.sys.now())
  if not lines then return ctx:fail(count) end
  local text = ctx:table(lines, M.COLUMNS)
  if next_offset then
    text = ctx:with_note(text, format("(%d orders, more from --offset %d)", count or #lines, next_offset))
  end
  -- a list, so that none is [] in JSON
  local doc = { orders = base.list(nil, lines), count = count, next_offset = next_offset }
  return require("proxyshard.cli.batch").finish(ctx, "orders", doc, text, failures)
end

return M
