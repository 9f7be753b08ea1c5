--- Exact integers on both Lua 5.4 (integer subtype) and LuaJIT (doubles).
-- Everything the API counts (quantities, ids, cents) stays within
-- ±(2^53 − 1), the range that is exact on both runtimes.
local type = type
local floor = math.floor
local tointeger = math.tointeger -- nil on LuaJIT / Lua 5.1
local math_type = math.type -- nil on LuaJIT / Lua 5.1 and 5.2

local M = {}

local MAX = 9007199254740991 -- 2^53 − 1
M.MAX = MAX

--- `v` as an exact integer, or `nil, reason`.
-- Accepts a Lua integer or an integral float (Debian's lua-cjson decodes
-- every JSON number as a float on 5.4); refuses fractions, -0, inf, nan
-- and anything beyond ±(2^53 − 1).
function M.from(v)
  -- Speed: on 5.3 and 5.4 an integer needs only its range checked
  if math_type and math_type(v) == "integer" and v <= MAX and v >= -MAX then return v end
  if type(v) ~= "number" then return nil, "not a number" end
  -- Speed: on 5.4 an integral number becomes an integer in one call; only
  -- the range and -0.0 are left to check (the slow path finds the rest)
  local i = tointeger and tointeger(v)
  if i and i <= MAX and i >= -MAX and (i ~= 0 or 1 / v > 0) then return i end
  if v ~= v then return nil, "not a number" end
  if v ~= floor(v) then return nil, "not an integer" end
  if v > M.MAX or v < -M.MAX then return nil, "out of range" end
  if v == 0 and 1 / v < 0 then return nil, "negative zero" end
  if tointeger then return tointeger(v) end
  return v
end

--- Is `v` a number that is an exact integer in range?
function M.is(v)
  return M.from(v) ~= nil
end

return M
