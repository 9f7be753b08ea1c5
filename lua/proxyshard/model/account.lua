--- The account behind the token, as GET /user/api/me returns it.
local setmetatable = setmetatable
local tostring = tostring
local format = string.format

local M = {}

local Account = { __name = "proxyshard.account" }
Account.__index = Account

--- Wrap the converted answer: email, active_orders, wallet_balance (money).
function M.new(fields)
  return setmetatable(fields, Account)
end

-- dev@example.com: 2 active orders, wallet $100.00
function Account:__tostring()
  return format("%s: %s active orders, wallet %s", self.email or "account", tostring(self.active_orders or "?"),
    tostring(self.wallet_balance))
end

return M
