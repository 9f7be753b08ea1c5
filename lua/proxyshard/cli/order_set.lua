--- The orders a command works on (`top-up`, `proxies`): the ids given on
-- the command line or every active order (`--all-active`), each once, and
-- fn(order) over them several at a time (client:map).
-- @module proxyshard.cli.order_set
local errors = require "proxyshard.errors"
local validate = require "proxyshard.check.validate"
local values = require "proxyshard.cli.values"

local ipairs = ipairs
local setmetatable = setmetatable
local tostring = tostring
local format = string.format

local M = {}

M.DEFAULT_CONCURRENCY = 4

-- An error raised inside fn (a bug, not an error value) as a failure.
local function raised(message)
  return setmetatable({ kind = "internal", message = tostring(message) }, {
    __tostring = function(e) return "proxyshard internal error: " .. e.message end,
  })
end

--- fn(item) over `list`, `concurrency` at a time (client:map):
-- { { value =, err = }, ... } in order; or nil, err when map refuses its
-- arguments. An error raised in fn becomes an internal error value.
function M.each(client, list, fn, concurrency)
  local results, err = client:map(list, function(item) return fn(item) end,
    { concurrency = concurrency or M.DEFAULT_CONCURRENCY })
  if not results then return nil, err end
  for _, r in ipairs(results) do
    if r.err ~= nil and not errors.is(r.err) then r.err = raised(r.err) end
  end
  return results
end

-- `ids` with each order once, in the order first seen: a run works per
-- order, not per list entry (12345 given twice, or 012345, or an order on
-- two pages of a list that shifted while it was read, is handled once).
-- `twice` gets the ids that were repeated.
local function once_each(ids, twice)
  local out, seen = {}, {}
  for _, id in ipairs(ids) do
    if seen[id] then
      if seen[id] == 1 then twice[#twice + 1] = id end
      seen[id] = seen[id] + 1
    else
      seen[id] = 1
      out[#out + 1] = id
    end
  end
  return out
end

--- The orders of a run: `args.orders` (text ids) or, with
-- `args.all_active`, every active order for which keep(summary) is not
-- false; each once. Returns the ids and those given more than once; or
-- nil, err (nothing sent for a bad id).
function M.ids(client, args, keep)
  local twice = {}
  if args.all_active and #args.orders > 0 then
    return nil, errors.invalid("--all-active", "and a list of orders are two lists: give one")
  end
  if args.all_active then
    local all, err = client:all_orders({ status = "active" })
    if not all then return nil, err end
    local ids = {}
    for _, o in ipairs(all) do
      if not keep or keep(o) ~= false then ids[#ids + 1] = o.order_id end
    end
    return once_each(ids, {}), twice
  end
  if #args.orders == 0 then
    return nil, errors.invalid("orders", "are missing: give order ids, or --all-active")
  end
  local ids = {}
  for i, text in ipairs(args.orders) do
    local id, err = validate.id(values.integer(text), format("orders[%d]", i))
    if not id then return nil, err end
    ids[#ids + 1] = id
  end
  return once_each(ids, twice), twice
end

--- --concurrency N checked by client:map's own rule (default DEFAULT_CONCURRENCY).
function M.concurrency(text)
  if text == nil then return M.DEFAULT_CONCURRENCY end
  return require("proxyshard.flows.map").concurrency(values.integer(text))
end

return M
