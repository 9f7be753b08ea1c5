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
-- handle's when the answer leaves it out. An answer that lists none (the
-- document leaves `data` optional, and a list may be empty): for a read,
-- no such sub-user (not_found); for the create, a refusal, which the
-- engine makes an unknown outcome (the sub-user may exist now).
function M.new(r, values, handle, row)
  local item = r.data and r.data[1]
  if item == nil then
    local id = values.user_id
    return nil, require("proxyshard.errors").new(row.class == "write" and "decode" or "not_found",
      "the answer lists no sub-user" .. (id and (" " .. tostring(id)) or ""),
      { method = row.method, path = row.path })
  end
  item.user_id = item.user_id or values.user_id
  item.residential = handle.residential or handle
  return base.wrap(SubUser, item)
end

return M
