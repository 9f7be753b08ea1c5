--- IP address literals: parsing and the one canonical spelling of each.
-- Two spellings of one address (`::a` and `0::a`, `2001:db8::1` and
-- `2001:0db8:0:0:0:0:0:1`) must compare equal, so every comparison of IPs
-- goes through `canonical`: dotted quad for IPv4, RFC 5952 for IPv6
-- (lower case, no leading zeros, the longest run of two or more zero
-- groups — the first one on a tie — shortened to "::", and an IPv4-mapped
-- address ending in a dotted quad).
-- @module proxyshard.ip
local tonumber = tonumber
local concat = table.concat
local format = string.format
local floor = math.floor
local type = type

local M = {}

-- The four parts of a strict dotted quad, or nil. A leading zero reads as
-- octal to some parsers: refused rather than guessed.
local function ipv4_parts(s)
  local a, b, c, d = s:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if not a then return nil end
  local parts = { a, b, c, d }
  for i = 1, 4 do
    local p = parts[i]
    if #p > 3 or (#p > 1 and p:sub(1, 1) == "0") then return nil end
    local n = tonumber(p)
    if n > 255 then return nil end
    parts[i] = n
  end
  return parts
end

-- Appends the 16-bit groups of a ":"-separated run of 1–4 hex digit
-- groups ("" has none) to `out`; false when a group is malformed.
local function push_groups(s, out)
  if s == "" then return true end
  for group in (s .. ":"):gmatch("(.-):") do
    if not group:find("^%x%x?%x?%x?$") then return false end
    out[#out + 1] = tonumber(group, 16)
  end
  return true
end

-- The eight 16-bit groups of an IPv6 literal (no zone, no brackets), or nil.
local function ipv6_groups(s)
  if #s > 45 or not s:find(":", 1, true) then return nil end
  local tail
  -- a trailing dotted quad stands for the last two groups
  local head, quad = s:match("^(.*:)(%d+%.%d+%.%d+%.%d+)$")
  if head then
    local p = ipv4_parts(quad)
    if not p then return nil end
    tail = { p[1] * 256 + p[2], p[3] * 256 + p[4] }
    s = head:sub(-2) == "::" and head or head:sub(1, -2)
  end
  local wanted = tail and 6 or 8
  local first, rest = s:match("^(.-)::(.*)$")
  local groups = {}
  if first then
    if rest:find("::", 1, true) then return nil end
    local after = {}
    if not push_groups(first, groups) or not push_groups(rest, after) then return nil end
    local zeros = wanted - #groups - #after
    if zeros < 1 then return nil end
    for _ = 1, zeros do groups[#groups + 1] = 0 end
    for i = 1, #after do groups[#groups + 1] = after[i] end
  else
    if not push_groups(s, groups) or #groups ~= wanted then return nil end
  end
  if tail then groups[7], groups[8] = tail[1], tail[2] end
  return groups
end

-- RFC 5952 text of eight groups.
local function ipv6_text(g)
  -- ::ffff:a.b.c.d, an IPv4-mapped address, keeps its dotted quad (§5)
  if g[1] == 0 and g[2] == 0 and g[3] == 0 and g[4] == 0 and g[5] == 0 and g[6] == 0xffff then
    return format("::ffff:%d.%d.%d.%d", floor(g[7] / 256), g[7] % 256, floor(g[8] / 256), g[8] % 256)
  end
  -- the longest run of zero groups, at least two long; the first on a tie
  local best_at, best_len, at, len = nil, 1, nil, 0
  for i = 1, 8 do
    if g[i] == 0 then
      if len == 0 then at = i end
      len = len + 1
      if len > best_len then best_at, best_len = at, len end
    else
      len = 0
    end
  end
  local hex = {}
  for i = 1, 8 do hex[i] = format("%x", g[i]) end
  if not best_at then return concat(hex, ":") end
  return concat(hex, ":", 1, best_at - 1) .. "::" .. concat(hex, ":", best_at + best_len, 8)
end

--- The canonical text of an IPv4 or IPv6 literal, or nil when `s` is not one.
function M.canonical(s)
  if type(s) ~= "string" then return nil end
  local p = ipv4_parts(s)
  if p then return format("%d.%d.%d.%d", p[1], p[2], p[3], p[4]) end
  local g = ipv6_groups(s)
  if g then return ipv6_text(g) end
  return nil
end

return M
