--- Every item of a paged list: a row with `all` (client:orders,
-- res:sub_users) read page after page — offset from each page's
-- next_offset — into one list. The pages share one deadline (the call's
-- timeout), and at most MAX_PAGES are read, so a server that never ends
-- the list cannot hold the caller.
--   client:all_orders{ status = "active" }   res:all_sub_users()
-- @module proxyshard.flows.pages
local errors = require "proxyshard.errors"
local engine = require "proxyshard.engine"
local plan = require "proxyshard.engine.plan"
local calls = require "proxyshard.engine.call"
local options = require "proxyshard.check.options"
local base = require "proxyshard.model.base"

local type = type
local pairs = pairs
local getmetatable = getmetatable
local setmetatable = setmetatable
local format = string.format

local M = {}

M.MAX_PAGES = 1000
M.PAGE_SIZE = 100

-- the row's table fields `all` keeps, as a set (cached per row)
local kept = setmetatable({}, { __mode = "k" })

--- h:<row.all.method>([params,] opts): every item of the row's list field.
-- `params` holds the row's table fields that `all.params` keeps (status).
function M.run(h, row, params, opts)
  if h.error then return nil, h.error end
  local call, err = calls.begin(h.client or h, opts, plan.option_names(row))
  if not call then return nil, err end
  return M.read(h, row, params, call)
end

--- Every item, under the Call `call` (a flow's).
function M.read(h, row, params, call)
  local all = row.all
  if params ~= nil and type(params) ~= "table" then
    return nil, errors.invalid("params", format("must be a table of %s's parameters", all.method))
  end
  params = params or {}
  local known = kept[row] or options.set(all.params or {})
  kept[row] = known
  local unknown = options.unknown(params, known, all.method .. "'s parameters")
  if unknown then return nil, unknown end
  local items, offset, class = {}, 0, nil
  for _ = 1, M.MAX_PAGES do
    local args = {}
    for k, v in pairs(params) do args[k] = v end
    args.offset, args.limit = offset, M.PAGE_SIZE
    local page, err = engine.invoke(h, row, call, args)
    if not page then return nil, err end
    local list = page[all.field]
    class = class or getmetatable(list[1])
    for i = 1, #list do items[#items + 1] = list[i] end
    if not page.next_offset then return base.list(class or {}, items) end
    offset = page.next_offset
  end
  return nil, errors.new("decode", "the list did not end after " .. M.MAX_PAGES .. " pages")
end

return M
