--- The proxy IPs of an order (GET /user/api/proxies/active): a list of
-- proxies, and the order's tag as a second value.
local proxy = require "proxyshard.model.proxy"

local M = {}

--- The list of proxies of the converted answer `r`, each with the
-- `order_id` it belongs to (a list of several orders' proxies stays
-- readable), and the order's tag.
function M.new(r, values)
  local items, order_id = r.data, values and values.order_id
  for i = 1, #items do items[i].order_id = order_id end
  return proxy.list(items), r.order_tag
end

return M
