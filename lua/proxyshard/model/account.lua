--- The account behind the token, as GET /user/api/me returns it.
local base = require "proxyshard.model.base"
local setmetatable = setmetatable
local tostring = tostring
local format = string.format

local M = {}

-- dev@example.com: 2 active orders, wallet $100.00
local function describe(self)
  return format("%s: %s active orders, wallet %s", self.email or "account", tostring(self.active_orders or "?"),
    tostring(self.wallet_balance))
end

local Account = base.class("proxyshard.account", describe)

--- Wrap the converted answer: email, active_orders, wallet_balance (money).
function M.new(fields)
  return setmetatable(fields, Account)
end

return M
