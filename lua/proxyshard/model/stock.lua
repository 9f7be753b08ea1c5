--- Available stock of a product in a country (GET /user/api/proxies/available-count).
local base = require "proxyshard.model.base"

local format = string.format
local tostring = tostring

local M = {}

local Stock = base.class("proxyshard.stock", function(self)
  return format("%s in %s: %s available", self.product or "?", self.country or "?", tostring(self.amount or "?"))
end)

--- The list of { country, product, amount }.
function M.new(items)
  return base.list(Stock, items)
end

return M
