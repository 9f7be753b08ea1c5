--- The residential owner's traffic for one proxy type (GET
-- /user/api/proxies/profile). Traffic in bytes, as the API sends it:
-- `data_bytes` (total), `data_remain_bytes`, `data_spent_bytes`. The proxy
-- password is kept but never printed.
local base = require "proxyshard.model.base"

local format = string.format
local tostring = tostring

local M = {}

local GB = 1024 * 1024 * 1024

local function gb(bytes)
  if bytes == nil then return "?" end
  return format("%.2f GB", bytes / GB)
end

local Profile = base.class("proxyshard.profile", function(self)
  return format("%s residential: %s left of %s (%s spent)", tostring(self.proxy_type), gb(self.data_remain_bytes),
    gb(self.data_bytes), gb(self.data_spent_bytes))
end)

--- The Profile for the converted profile answer `r` (`values.proxy_type`).
function M.new(r, values)
  return base.wrap(Profile, { proxy_type = values.proxy_type, data_bytes = r.data,
    data_remain_bytes = r.data_remain, data_spent_bytes = r.data_spent, proxy_password = r.proxy_password })
end

return M
