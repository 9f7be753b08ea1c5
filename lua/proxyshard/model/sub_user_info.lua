--- A residential sub-user: `user_id`, `first_name`, `data`, `data_spent`,
-- `data_remain` as the API sends them (the document gives no unit for
-- these; the sandbox counts GB), and the proxy password, kept but never
-- printed. `info:handle()` is its sub-user handle.
local base = require "proxyshard.model.base"

local format = string.format
local tostring = tostring

local M = {}

local SubUser = base.class("proxyshard.sub_user", function(self)
  return format("sub-user %s (%s): data %s, spent %s", tostring(self.user_id or "?"), self.first_name or "?",
    tostring(self.data or "?"), tostring(self.data_spent or "?"))
end)

M.class = SubUser

--- This sub-user's handle, on the residential handle it was read through.
function SubUser:handle()
  return self.residential:sub_user(self.user_id)
end

--- The first (only) item of the answer's `data` list; the id is the
-- handle's when the answer leaves it out.
function M.new(r, ctx)
  local item = r.data and r.data[1]
  if item == nil then
    return nil, require("proxyshard.errors").new("decode", "the answer lists no sub-user",
      { method = ctx.row.method, path = ctx.row.path })
  end
  item.user_id = item.user_id or ctx.values.user_id
  item.residential = ctx.handle.residential or ctx.handle
  return base.wrap(SubUser, item)
end

return M
