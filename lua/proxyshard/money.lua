--- Money values: an exact integer number of US cents (see docs/money.md).
-- The values, their operators and methods are C (proxyshard.core.money,
-- over csrc/money_math.c); this face adds the library's error values and
-- the documented constants.
local core = require "proxyshard.core"
local errors = require "proxyshard.errors"

local pairs = pairs
local ipairs = ipairs

local M = {}
for name, value in pairs(core.money) do M[name] = value end

local parse = core.money.parse

--- Decimal text → money, or `nil, err` (kind "invalid_argument") for text
-- that is not an amount. A non-string or an unknown mode raises.
function M.parse(text, mode)
  local m, message = parse(text, mode)
  if m == nil then
    return nil, errors.new("invalid_argument", "money.parse: " .. message, { argument = "text" })
  end
  return m
end

M.zero = M.cents(0)

-- our own copy: changing it must not change the C module's table
M.ROUNDING_MODES = {}
for i, name in ipairs(core.money.ROUNDING_MODES) do M.ROUNDING_MODES[i] = name end

return M
