--- When to try a request again, and how long to wait first.
-- Jittered exponential backoff (0.5 s base, 5 s cap, 2 retries by default,
-- as the Stripe SDKs do) and the server's Retry-After, in seconds or as an
-- HTTP-date, honoured up to a cap.
local errors = require "proxyshard.errors"

local type = type
local error = error
local tonumber = tonumber
local ipairs = ipairs
local floor = math.floor
local min = math.min
local max = math.max

local M = {}

M.DEFAULTS = {
  max_retries = 2,       -- retries after the first attempt
  base_delay = 0.5,      -- seconds before the first retry, before jitter
  max_delay = 5,         -- the backoff never waits longer
  max_retry_after = 30,  -- a Retry-After beyond this is not waited for
}

local function bad(name, message)
  error(errors.invalid(name, message), 4)
end

local function number_option(opts, name, lo, hi)
  local v = opts[name]
  if v == nil then return M.DEFAULTS[name] end
  if type(v) ~= "number" or v ~= v or v < lo or v > hi then
    bad(name, ("must be a number from %s to %s"):format(lo, hi))
  end
  return v
end

--- A policy from client or call options (unknown fields are ignored;
-- `base` fills what `opts` leaves out). Raises invalid_argument for bad values.
function M.policy(opts, base)
  base = base or M.DEFAULTS
  opts = opts or {}
  local p = {}
  for _, name in ipairs({ "max_retries", "base_delay", "max_delay", "max_retry_after" }) do
    if opts[name] == nil then
      p[name] = base[name]
    else
      p[name] = number_option(opts, name, 0, name == "max_retries" and 10 or 3600)
    end
  end
  if p.max_retries ~= floor(p.max_retries) then bad("max_retries", "must be an integer") end
  return p
end

--- Seconds to wait before retry number `retry` (1 for the first retry):
-- base × 2^(retry−1), capped, then jittered down to 50–100 % of that, and
-- never below the base. `random` returns a number in [0, 1).
function M.backoff(policy, retry, random)
  local d = min(policy.base_delay * 2 ^ (retry - 1), policy.max_delay)
  d = d * (0.5 + 0.5 * random())
  return max(d, min(policy.base_delay, policy.max_delay))
end

local MONTHS = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6,
  Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }

-- Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
-- days_from_civil), so no time zone or locale gets involved.
local function days_from_civil(y, m, d)
  if m <= 2 then y = y - 1 end
  local era = floor(y / 400)
  local yoe = y - era * 400
  local mp = (m + 9) % 12
  local doy = floor((153 * mp + 2) / 5) + d - 1
  local doe = yoe * 365 + floor(yoe / 4) - floor(yoe / 100) + doy
  return era * 146097 + doe - 719468
end

--- Seconds since the epoch of an HTTP-date (RFC 9110 §5.6.7: IMF-fixdate,
-- and the obsolete RFC 850 and asctime forms), or nil.
function M.http_date(s)
  local d, mon, y, hh, mm, ss = s:match("^%a%a%a, (%d%d) (%a%a%a) (%d%d%d%d) (%d%d):(%d%d):(%d%d) GMT$")
  if not d then
    d, mon, y, hh, mm, ss = s:match("^%a+, (%d%d)%-(%a%a%a)%-(%d%d) (%d%d):(%d%d):(%d%d) GMT$")
    if y then
      y = tonumber(y)
      y = y + (y < 70 and 2000 or 1900)
    end
  end
  if not d then
    mon, d, hh, mm, ss, y = s:match("^%a%a%a (%a%a%a) +(%d%d?) (%d%d):(%d%d):(%d%d) (%d%d%d%d)$")
  end
  local month = MONTHS[mon or ""]
  if not month then return nil end
  d, y, hh, mm, ss = tonumber(d), tonumber(y), tonumber(hh), tonumber(mm), tonumber(ss)
  if d < 1 or d > 31 or hh > 23 or mm > 59 or ss > 60 then return nil end
  return days_from_civil(y, month, d) * 86400 + hh * 3600 + mm * 60 + ss
end

--- Seconds to wait from a Retry-After value (delay-seconds or an
-- HTTP-date), or nil when it is neither. `now` is the epoch time.
function M.parse_retry_after(value, now)
  if type(value) ~= "string" then return nil end
  value = value:match("^%s*(.-)%s*$")
  if value:find("^%d+$") then
    return tonumber(value)
  end
  local at = M.http_date(value)
  if at == nil then return nil end
  return max(at - now, 0)
end

--- How long to wait before retry number `retry`, or nil when the server
-- asked for longer than the policy allows (then retrying sooner would only
-- be refused again).
function M.delay(policy, retry, retry_after, random)
  if retry_after ~= nil then
    if retry_after > policy.max_retry_after then return nil end
    return retry_after
  end
  return M.backoff(policy, retry, random)
end

return M
