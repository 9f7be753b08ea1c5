--- A product on sale, with its billing cycles (GET /user/api/proxies/products).
local base = require "proxyshard.model.base"

local format = string.format
local concat = table.concat

local M = {}

local Product = base.class("proxyshard.product", function(self)
  return format("%s%s: %s", self.name or "?", self.location and (" (" .. self.location .. ")") or "",
    concat(self.cycles or {}, ", "))
end)

--- The list of products.
function M.new(products)
  return base.list(Product, products)
end

return M
