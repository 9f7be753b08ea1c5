--- One page of a proxy type's sub-users: `sub_users`, `count` (all of
-- them, before paging) and `next_offset` (nil on the last page).
local base = require "proxyshard.model.base"
local sub_user_info = require "proxyshard.model.sub_user_info"
local order_page = require "proxyshard.model.order_page"

local format = string.format
local tostring = tostring

local M = {}

local Page = base.class("proxyshard.sub_user_page", function(self)
  return tostring(self.sub_users) .. format("\n(%d of %s sub-users%s)", #self.sub_users, tostring(self.count or "?"),
    self.next_offset and (", more from offset " .. self.next_offset) or "")
end)

--- The page for the converted sub-users answer `r` (`values`: offset and limit).
function M.new(r, values, handle)
  local offset, limit = values.offset or 0, values.limit or order_page.DEFAULT_LIMIT
  local users = r.data or {} -- the document leaves `data` optional: none listed
  for i = 1, #users do users[i].residential = handle end
  users = base.list(sub_user_info.class, users)
  -- the answer's count is of all sub-users: it says where the list ends
  local next_offset
  if r.count ~= nil then
    next_offset = #users > 0 and offset + #users < r.count and offset + #users or nil
  else
    next_offset = order_page.next_offset(offset, limit, #users, false)
  end
  return base.wrap(Page, { sub_users = users, count = r.count, next_offset = next_offset })
end

return M
