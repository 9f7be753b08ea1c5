--- Money values: an exact integer number of US cents.
-- Immutable: `m.cents` reads the amount, nothing can be written. The
-- arithmetic is done by the checked integer primitives of proxyshard.core,
-- which raise instead of wrapping or losing precision beyond ±(2^53 − 1).
local core = require "proxyshard.core"

local type = type
local error = error
local rawget = rawget
local tostring = tostring
local setmetatable = setmetatable
local getmetatable = getmetatable
local reverse = string.reverse
local gsub = string.gsub

local M = {}

local CENTS = {} -- private key: keeps `cents` out of reach of rawset/pairs users

local Money = { __name = "proxyshard.money" }
local methods = {}

local function new(cents)
  return setmetatable({ [CENTS] = cents }, Money)
end

function Money.__index(m, k)
  if k == "cents" then return rawget(m, CENTS) end
  return methods[k]
end

function Money.__newindex()
  error("proxyshard.money: money values are immutable", 2)
end

local function is_money(v)
  return getmetatable(v) == Money
end

local function cents_of(v, what)
  if not is_money(v) then
    error("proxyshard.money: " .. what .. " must be a money value, got " .. type(v), 3)
  end
  return rawget(v, CENTS)
end

--- A money value from an integer number of cents (an integral float is
-- accepted; a fraction, NaN, inf or an out-of-range value raises).
function M.cents(n)
  local c, err = core.cents_check(n)
  if c == nil then
    error("proxyshard.money.cents: " .. tostring(n) .. " is not a valid amount of cents ("
      .. tostring(err) .. ")", 2)
  end
  return new(c)
end

--- Like money.cents, but `nil, message` instead of raising: for amounts
-- read from the API, where a bad value is the server's fault, not a bug.
function M.from_cents(n)
  local c, err = core.cents_check(n)
  if c == nil then return nil, err end
  return new(c)
end

M.is = is_money
M.zero = new(0)

function Money.__add(a, b) return new(core.cents_add(cents_of(a, "left operand"), cents_of(b, "right operand"))) end
function Money.__sub(a, b) return new(core.cents_sub(cents_of(a, "left operand"), cents_of(b, "right operand"))) end
function Money.__unm(a) return new(core.cents_sub(0, rawget(a, CENTS))) end
function Money.__eq(a, b) return is_money(a) and is_money(b) and rawget(a, CENTS) == rawget(b, CENTS) end
function Money.__lt(a, b) return cents_of(a, "left operand") < cents_of(b, "right operand") end
function Money.__le(a, b) return cents_of(a, "left operand") <= cents_of(b, "right operand") end

--- Money × integer (either order). Money × money or × a fraction raises.
function Money.__mul(a, b)
  if is_money(a) and type(b) == "number" then return new(core.cents_mul(rawget(a, CENTS), b)) end
  if is_money(b) and type(a) == "number" then return new(core.cents_mul(rawget(b, CENTS), a)) end
  error("proxyshard.money: money can only be multiplied by an integer", 2)
end

--- "1234.56", "-0.05": exact, no symbol, no separators.
function methods.to_decimal(m)
  return core.cents_format(rawget(m, CENTS))
end

local function group_thousands(digits)
  -- "1234567" -> "1,234,567"
  local grouped = reverse((gsub(reverse(digits), "(%d%d%d)", "%1,")))
  return (gsub(grouped, "^,", ""))
end

--- "$1,234.56", "-$0.05".
function Money.__tostring(m)
  local text = core.cents_format(rawget(m, CENTS))
  local sign, units, fraction = text:match("^(%-?)(%d+)%.(%d%d)$")
  return sign .. "$" .. group_thousands(units) .. "." .. fraction
end

return M
