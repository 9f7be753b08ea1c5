--- What the handles (client, order, add-on, residential, sub-user) share:
-- a class whose methods come from the operation rows, and the rule for a
-- handle made with a bad argument. `client:order("x")` does not return
-- nil — that would break a chain with "attempt to index a nil value" — but
-- a handle that carries the error: every call on it returns nil, err, and
-- so do the handles made from it. The error is also the second value, for
-- those who check early.
local base = require "proxyshard.model.base"
local errors = require "proxyshard.errors"

local setmetatable = setmetatable

local M = {}

--- A handle class named `name`, printed by `describe` (the models' kind
-- of class).
M.class = base.class

--- A handle of `class` with `fields`; `err` makes it a broken handle.
function M.make(class, fields, err)
  fields.error = err
  return setmetatable(fields, class), err
end

M.MAX_PAGES = 1000

--- Every item of a paged list: calls `row` page after page (offset from
-- each page's next_offset) and returns one list of `field`'s items. The
-- pages share one deadline (the call's timeout), and at most MAX_PAGES
-- pages are read, so a server that never ends the list cannot hold it.
function M.all_pages(h, row, field, opts, params)
  if h.error then return nil, h.error end
  local engine = require "proxyshard.engine"
  local call, err = (h.client or h):begin(opts, engine.option_names(row))
  if not call then return nil, err end
  local all, offset, class = {}, 0, nil
  for _ = 1, M.MAX_PAGES do
    local args = {}
    for k, v in pairs(params or {}) do args[k] = v end
    args.offset, args.limit = offset, 100
    local page
    page, err = engine.invoke(h, row, { args }, call)
    if not page then return nil, err end
    local items = page[field]
    class = class or getmetatable(items[1])
    for i = 1, #items do all[#all + 1] = items[i] end
    if not page.next_offset then return base.list(class or {}, all) end
    offset = page.next_offset
  end
  return nil, errors.new("decode", "the list did not end after " .. M.MAX_PAGES .. " pages")
end

return M
