--- The proxy IPs of an order (GET /user/api/proxies/active): a list of
-- proxies, and the order's tag as a second value.
local proxy = require "proxyshard.model.proxy"

local M = {}

--- The list of proxies of the converted answer `r`, and the order's tag.
function M.new(r)
  return proxy.list(r.data), r.order_tag
end

return M
