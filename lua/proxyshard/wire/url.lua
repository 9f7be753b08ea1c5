--- URL pieces: percent-encoding and query strings (RFC 3986).
local tostring = tostring
local type = type
local tonumber = tonumber
local ipairs = ipairs
local format = string.format
local gsub = string.gsub
local find = string.find
local byte = string.byte
local concat = table.concat

local M = {}

local function escape_byte(c)
  return format("%%%02X", byte(c))
end

-- Speed: the same few keys and codes are encoded call after call, and a
-- pattern's class costs far more per byte than a table lookup; the
-- encodings of short strings are kept, at most CACHED of them (then the
-- cache starts over).
local CACHED = 256
local cache, cached = {}, 0

--- Percent-encode everything but the unreserved characters.
function M.encode(s)
  local e = cache[s]
  if e then return e end
  s = tostring(s)
  e = s
  if find(s, "[^%w%-%._~]") then e = gsub(s, "[^%w%-%._~]", escape_byte) end
  if #s <= 64 then
    if cached >= CACHED then cache, cached = {}, 0 end
    cache[s], cached = e, cached + 1
  end
  return e
end

--- "a=1&b=x%20y" from a list of { name, value } pairs (order kept).
-- Number values are integers and are printed with %d: LuaJIT's tostring
-- would write a large id as 9.007199254741e+15.
function M.query(pairs_list)
  local parts = {}
  for i, pair in ipairs(pairs_list) do
    local value = pair[2]
    if type(value) == "number" then value = format("%d", value) end
    parts[i] = M.encode(pair[1]) .. "=" .. M.encode(value)
  end
  return concat(parts, "&")
end

--- Split "https://host:port/prefix" into scheme, host, port (or nil) and
-- path prefix. Returns nil for anything else (userinfo, query, fragment).
function M.parse_base(s)
  -- a space or a control character (CR, LF) would split the request line
  if s:find("[%z\1-\32\127]") then return nil end
  local scheme, authority, path = s:match("^(https?)://([^/?#]+)([^?#]*)$")
  if not scheme or authority:find("@", 1, true) then return nil end
  local host, port = authority:match("^(%[[%x:.]+%])(.*)$")
  if not host then host, port = authority:match("^([^:]+)(.*)$") end
  if not host then return nil end
  if port ~= "" then
    port = port:match("^:(%d+)$")
    if not port or tonumber(port) < 1 or tonumber(port) > 65535 then return nil end
    port = tonumber(port)
  else
    port = nil
  end
  return { scheme = scheme:lower(), host = host:lower(), port = port, path = (gsub(path, "/+$", "")) }
end

--- Is `host` on the loopback interface: "localhost", 127.0.0.0/8, or ::1
-- in any spelling, with or without brackets? Anything else, host names
-- included, may be reachable from other machines.
function M.is_loopback(host)
  if type(host) ~= "string" then return false end
  if host:lower() == "localhost" then return true end
  local bracketed = host:match("^%[(.*:.*)%]$") -- brackets hold IPv6 only
  local canonical = require("proxyshard.wire.ip").canonical(bracketed or host)
  return canonical == "::1" or (canonical ~= nil and canonical:match("^127%.") ~= nil)
end

return M
