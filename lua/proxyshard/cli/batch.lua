--- Spending on many orders under one cap (`top-up`, `renew` of several
-- orders): each order's price is reserved from the cap in the orders'
-- order before anything is bought — an order whose price no longer fits,
-- or that has no price to hold to the cap, is not bought (`budget`) — so
-- orders bought at the same time never spend more than the cap together;
-- one confirmation for them all; and the report printed as a result, or
-- with the failures and the worst one's exit status.
-- @module proxyshard.cli.batch
local errors = require "proxyshard.errors"
local confirm = require "proxyshard.cli.confirm"
local render = require "proxyshard.cli.render"
local exit = require "proxyshard.cli.exit"

local ipairs = ipairs
local pairs = pairs
local tostring = tostring
local format = string.format
local concat = table.concat

local M = {}

--- Reserve from `cap` (money) each plan's `price` (money; nil: no price)
-- for the plans with `wanted` true, in order. A plan that fits gets
-- `reserved` and is listed to buy; one that does not gets a budget error
-- (`err`, also added to `failures`), worded by what(plan). Returns the
-- plans to buy and the total reserved.
function M.reserve(plans, cap, failures, what)
  local left, to_buy = cap, {}
  for _, p in ipairs(plans) do
    if p.wanted and not p.err then
      local why
      if p.price == nil then
        why = format("%s has no price to hold to --max-total (%s): nothing was bought", what(p),
          p.no_price or "none given")
      elseif p.price > left then
        why = format("%s costs %s, above the %s left of --max-total %s: nothing was bought", what(p),
          tostring(p.price), tostring(left), tostring(cap))
      end
      if why then
        p.err = errors.new("budget", why, { quote = p.quote, max_total = left })
        failures[#failures + 1] = p.err
      else
        p.reserved = p.price
        left = left - p.price
        to_buy[#to_buy + 1] = p
      end
    end
  end
  return to_buy, cap - left
end

--- Ask once for every plan to buy (unless --yes): `lines` the text of
-- each, then the count and the total. Returns true, or the exit status of
-- the refusal (printed).
function M.confirm(ctx, args, lines, total, cap)
  if #lines == 0 or args.yes then return true end
  local ok, err, code = confirm.ask(ctx, format("%s\n%d orders, %s in all (cap %s)", concat(lines, "\n"), #lines,
    tostring(total), tostring(cap)))
  if ok then return true end
  if err == "declined" then return nil, ctx:refuse("declined", "not confirmed: nothing was bought", exit.DECLINED) end
  return nil, ctx:fail(err, code)
end

--- Print the report of `command`: as a result when nothing failed; else
-- the report, each failure's line on stderr, and the worst's exit status.
function M.finish(ctx, command, doc, text, failures, fields)
  local code = exit.worst(failures)
  if code == exit.OK then return ctx:result(command, doc, text, fields) end
  for _, f in ipairs(failures) do ctx:err(tostring(ctx:speak(f)) .. "\n") end
  if ctx.view_error then return ctx:fail(ctx.view_error) end
  if ctx.json then
    local out = { ok = false, command = command, result = doc, error = render.error(failures[1]), exit = code }
    for k, v in pairs(fields or {}) do out[k] = v end
    ctx:write_json(out)
  else
    ctx:out(text .. "\n")
  end
  return code
end

--- The sum of the plans' `cost` (money), in order; zero when none.
function M.spent(money, plans)
  local total = money.zero
  for _, p in ipairs(plans) do
    if p.cost then total = total + p.cost end
  end
  return total
end

return M
