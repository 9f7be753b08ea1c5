--- A place residential proxies can target: a country, region, city or ISP
-- (`code`, `name`, and the country and region it lies in).
local base = require "proxyshard.model.base"

local format = string.format

local M = {}

local Place = base.class("proxyshard.place", function(self)
  local within = {}
  if self.region and self.region.name then within[#within + 1] = self.region.name end
  if self.country and self.country.name then within[#within + 1] = self.country.name end
  return format("%s %s%s", self.code or "?", self.name or "?",
    #within > 0 and (" (" .. table.concat(within, ", ") .. ")") or "")
end)

--- The list of places.
function M.new(results)
  return base.list(Place, results)
end

return M
