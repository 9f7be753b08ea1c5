--- Option tables: every key must be one the callee knows. A typo such as
-- `base_ur` or `max_totl` would otherwise be ignored silently, and the
-- call would go to the real API, or buy without a cap.
local errors = require "proxyshard.errors"

local type = type
local pairs = pairs
local tostring = tostring
local sort = table.sort
local concat = table.concat
local min = math.min
local floor = math.floor
local ipairs = ipairs
local select = select
local format = string.format

local M = {}

-- Levenshtein distance, for "did you mean": names are short.
local function distance(a, b)
  local prev, cur = {}, {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    cur[0] = i
    local ca = a:byte(i)
    for j = 1, #b do
      local cost = ca == b:byte(j) and 0 or 1
      cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev, cur = cur, prev
  end
  return prev[#b]
end

--- The known name closest to `name`, when it is close enough to be a typo.
function M.closest(name, known)
  local best, best_d
  for candidate in pairs(known) do
    local d = distance(name, candidate)
    if best_d == nil or d < best_d or (d == best_d and candidate < best) then
      best, best_d = candidate, d
    end
  end
  if best and best_d <= 2 + floor(#name / 4) then return best end
  -- a name cut short ("promo" for "promo_code")
  for candidate in pairs(known) do
    if #name >= 3 and candidate:sub(1, #name) == name then return candidate end
  end
  return nil
end

local function listing(known)
  local names = {}
  for name in pairs(known) do names[#names + 1] = name end
  sort(names)
  return concat(names, ", ")
end

--- `nil` when every key of `opts` is in the set `known`; else an
-- invalid_argument error naming the first unknown key (in sorted order, so
-- the message does not depend on table order) and the closest known name.
-- `where` names the table in the message ("options", "opts", "items[2]").
function M.unknown(opts, known, where)
  local bad
  for k in pairs(opts) do
    if not known[k] and (bad == nil or tostring(k) < tostring(bad)) then bad = k end
  end
  if bad == nil then return nil end
  if type(bad) ~= "string" then
    return errors.new("invalid_argument", format("%s has a key %s that is not an option name (known: %s)",
      where, tostring(bad), listing(known)), { argument = where })
  end
  local hint = M.closest(bad, known)
  return errors.new("invalid_argument", format("%s has an unknown option %q (%s)", where, bad,
    hint and format("did you mean %q?", hint) or "known: " .. listing(known)), { argument = bad, option = bad })
end

--- A set from lists of names: set({ "a", "b" }, other_set, ...).
function M.set(...)
  local out = {}
  for i = 1, select("#", ...) do
    local t = select(i, ...)
    if t[1] ~= nil then
      for _, name in ipairs(t) do out[name] = true end
    else
      for name in pairs(t) do out[name] = true end
    end
  end
  return out
end

return M
