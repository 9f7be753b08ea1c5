--- One page of the order list: `orders` (summaries), `count`, and
-- `next_offset` — the offset of the next page, or nil on the last one.
local base = require "proxyshard.model.base"

local format = string.format
local tostring = tostring

local M = {}

local Summary = base.class("proxyshard.order_summary", function(self)
  return format("order %s: %s, %s%s%s", tostring(self.order_id or "?"), self.product_name or "?",
    self.cycle_name or "?", self.expires_at and (", until " .. self.expires_at) or "",
    self.tag and (" [" .. self.tag .. "]") or "")
end)

local Page = base.class("proxyshard.order_page", function(self)
  return tostring(self.orders) .. format("\n(%d orders%s)", #self.orders,
    self.next_offset and (", more from offset " .. self.next_offset) or "")
end)

--- The next page's offset: a full page, or one the answer says has a
-- `next`, is followed; an empty or short page is the last.
function M.next_offset(offset, limit, got, has_next)
  if got == 0 then return nil end
  if has_next or got >= limit then return offset + got end
  return nil
end

M.DEFAULT_LIMIT = 20

function M.new(r, values)
  local offset, limit = values.offset or 0, values.limit or M.DEFAULT_LIMIT
  local orders = base.list(Summary, r.orders)
  return base.wrap(Page, { orders = orders, count = r.count,
    next_offset = M.next_offset(offset, limit, #orders, r.next ~= nil) })
end

return M
