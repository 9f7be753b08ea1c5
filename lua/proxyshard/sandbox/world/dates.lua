--- The sandbox's dates: ISO 8601 UTC text, "2026-11-25T12:00:00Z". The
-- sandbox reads no clock (its answers are the same on every run): "now" is
-- the fixture's `now`, and expiry dates move by whole days, counted by
-- the library's calendar (proxyshard.wire.time).
local M = {}

local calendar = require "proxyshard.wire.time"

local days_from_civil, civil_from_days = calendar.days_from_civil, calendar.civil_from_days

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
