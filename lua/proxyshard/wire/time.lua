--- The API's dates: ISO 8601 text ("2026-12-01T09:00:00Z", a fraction of
-- a second and an offset such as "+02:00" allowed) as seconds since the
-- epoch, and days left until one. No os.time: it reads local time, and a
-- date is UTC. Days are counted with the civil-calendar arithmetic of
-- Howard Hinnant's days_from_civil, exact for any Gregorian date.
-- @module proxyshard.wire.time
local floor = math.floor
local tonumber = tonumber
local type = type
local match = string.match

local M = {}

--- Days from 1970-01-01 to the date y-m-d (proleptic Gregorian).
function M.days_from_civil(y, m, d)
  y = m <= 2 and y - 1 or y
  local era = floor(y / 400)
  local yoe = y - era * 400
  local doy = floor((153 * ((m + 9) % 12) + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- The date y-m-d of `z` days from 1970-01-01.
function M.civil_from_days(z)
  z = z + 719468
  local era = floor(z / 146097)
  local doe = z - era * 146097
  local yoe = floor((doe - floor(doe / 1460) + floor(doe / 36524) - floor(doe / 146096)) / 365)
  local doy = doe - (365 * yoe + floor(yoe / 4) - floor(yoe / 100))
  local mp = floor((5 * doy + 2) / 153)
  local d = doy - floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  local y = yoe + era * 400
  return m <= 2 and y + 1 or y, m, d
end

local DATE = "^(%d%d%d%d)%-(%d%d)%-(%d%d)[T ](%d%d):(%d%d):(%d%d)(%.?%d*)(.*)$"

--- Seconds since the epoch (UTC) of an ISO 8601 date-time, or nil when
-- `s` is not one.
function M.parse(s)
  if type(s) ~= "string" then return nil end
  local y, mo, d, h, mi, sec, _, zone = match(s, DATE)
  if not y then return nil end
  y, mo, d, h, mi, sec = tonumber(y), tonumber(mo), tonumber(d), tonumber(h), tonumber(mi), tonumber(sec)
  if mo < 1 or mo > 12 or d < 1 or d > 31 or h > 23 or mi > 59 or sec > 60 then return nil end
  local offset = 0
  if zone ~= "Z" and zone ~= "" then
    local sign, zh, zm = match(zone, "^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    offset = (tonumber(zh) * 3600 + tonumber(zm) * 60) * (sign == "-" and -1 or 1)
  end
  return M.days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset
end

--- Whole days from `now` (seconds since the epoch) until `iso`, rounded
-- down: 0 on its last day, negative once it is past; nil for a date that
-- cannot be read.
function M.days_left(iso, now)
  local t = M.parse(iso)
  if not t then return nil end
  return floor((t - now) / 86400)
end

return M
