--- The sandbox's dates: ISO 8601 UTC text, "2026-11-25T12:00:00Z". The
-- sandbox reads no clock (its answers are the same on every run): "now" is
-- the fixture's `now`, and expiry dates move by whole days. Days are
-- counted with the civil-calendar arithmetic of Howard Hinnant's
-- days_from_civil, exact for any Gregorian date.
local M = {}

local function days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = y // 400
  local yoe = y - era * 400
  local doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
  local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
  return era * 146097 + doe - 719468
end

local function civil_from_days(z)
  z = z + 719468
  local era = z // 146097
  local doe = z - era * 146097
  local yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
  local doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
  local mp = (5 * doy + 2) // 153
  local d = doy - (153 * mp + 2) // 5 + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  return m <= 2 and y + 1 or y, m, d
end

local PATTERN = "^(%d%d%d%d)%-(%d%d)%-(%d%d)T(%d%d:%d%d:%d%dZ)$"

--- Is `s` a date as the sandbox writes them?
function M.is(s)
  return type(s) == "string" and s:match(PATTERN) ~= nil
end

--- `iso` moved on by `days` days (the time of day stays).
function M.add_days(iso, days)
  local y, m, d, time = iso:match(PATTERN)
  assert(y, "not an ISO date: " .. tostring(iso))
  local ny, nm, nd = civil_from_days(days_from_civil(tonumber(y), tonumber(m), tonumber(d)) + days)
  return ("%04d-%02d-%02dT%s"):format(ny, nm, nd, time)
end

--- The later of two dates (text of one format compares as the dates do).
function M.later(a, b)
  if a == nil then return b end
  if b == nil then return a end
  return a > b and a or b
end

return M
