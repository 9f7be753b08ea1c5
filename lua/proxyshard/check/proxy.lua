--- Which proxy, if any, the client's requests go through, decided here in
-- Lua (and handed to libcurl already decided) so that it is ours, explicit
-- and testable. libcurl on its own would follow http_proxy, https_proxy and
-- ALL_PROXY from the environment; the C session turns that off, and uses a
-- proxy only when this module chose one.
--
-- The `proxy` option:
--   nil or false   no proxy, whatever the environment says (the default)
--   "env"          the environment's proxy for the base URL, read the way
--                  libcurl reads it: for an http:// base `http_proxy` (lower
--                  case only: a CGI program's HTTP_PROXY is the client's
--                  "Proxy:" header), for https:// `https_proxy` then
--                  `HTTPS_PROXY`; failing that, `all_proxy` then `ALL_PROXY`.
--                  An empty variable counts as unset; a value without a
--                  scheme is an HTTP proxy ("proxy.example:3128"). `no_proxy`, then
--                  `NO_PROXY`, lists the hosts that go direct (the
--                  `no_proxy` option, when given, replaces both). A loopback
--                  base (localhost, 127.x.x.x, [::1]) never goes through an
--                  environment proxy: that proxy would reach its own
--                  loopback, not ours.
--   a URL          that proxy: scheme://[user:password@]host[:port][/],
--                  the scheme one of http, https, socks4, socks4a, socks5,
--                  socks5h (it gives the proxy type; socks4a and socks5h
--                  let the proxy resolve the API's host name). An https://
--                  proxy's certificate is verified like the API's (against
--                  ca_file when given). The `no_proxy` option applies too.
--
-- no_proxy: host names and IP addresses separated by commas or blanks; "*"
-- matches every host; a name matches itself and its subdomains (a leading
-- dot is optional: "example.com", ".example.com" and "*.example.com" all
-- match api.example.com, not badexample.com); an IP matches itself, an
-- address/bits entry a whole network (10.0.0.0/8, fd00::/8); an entry may
-- end with ":port" ("[::1]:8080" for IPv6) to match that port only. This is
-- what libcurl matches and a little more (ports, "*."), so libcurl, which is
-- handed the same list, never turns off a proxy chosen here.
--
-- The plain-http rule. The token travels in the Authorization header of
-- every request; it must never cross a network hop in clear text unless
-- the user said allow_insecure. The base URL's own check already refuses
-- http:// to a non-loopback host; with a proxy there is one more hop:
--   * https:// base: always fine. Through an http:// proxy libcurl opens a
--     CONNECT tunnel (the CONNECT carries host and port only, never our
--     headers) and TLS runs end to end inside it; through an https:// proxy
--     the same tunnel is itself inside TLS; a SOCKS proxy relays the TLS
--     bytes. No proxy sees the token.
--   * http:// base (loopback, or allow_insecure): every proxy type sees the
--     request in clear. An http:// proxy reads and forwards it; an https://
--     proxy decrypts the hop to it and then reads the same clear request;
--     a SOCKS proxy relays the clear bytes. So the proxy's host must be
--     loopback too (it is then this machine, as trusted as the client), or
--     the user must say allow_insecure. What a loopback proxy does further
--     (an ssh -D tunnel, a relay) is beyond what a client can see.
-- Proxy credentials in an http:// or socks URL cross the hop to the proxy
-- in clear; that is the proxy's secret, not the token, and an https://
-- proxy protects it.
--
-- Messages never echo a proxy URL: it may hold a password.
local errors = require "proxyshard.errors"
local ip = require "proxyshard.wire.ip"
local url = require "proxyshard.wire.url"

local type = type
local ipairs = ipairs
local tonumber = tonumber
local floor = math.floor
local find = string.find
local lower = string.lower
local concat = table.concat
local os_getenv = os.getenv

local M = {}

--- The proxy schemes accepted, each a proxy type for libcurl.
M.SCHEMES = { "http", "https", "socks4", "socks4a", "socks5", "socks5h" }
local SCHEME = {}
for _, s in ipairs(M.SCHEMES) do SCHEME[s] = true end
local SCHEME_LIST = concat(M.SCHEMES, ", ")

local DEFAULT_PORT = { http = 80, https = 443 }

-- Host and port of a [userinfo@]host[:port] authority: a bracketed IPv6
-- literal or a name / IPv4 of letters, digits, ".", "-", "_".
local function host_port(authority)
  local host, rest = authority:match("^(%[[%x:.]+%])(.*)$")
  if host then
    if not ip.canonical(host:sub(2, -2)) then return nil end
  else
    host, rest = authority:match("^([%w_][%w._-]*)(.*)$")
    if not host then return nil end
  end
  local port
  if rest ~= "" then
    port = tonumber(rest:match("^:(%d%d?%d?%d?%d?)$"))
    if not port or port < 1 or port > 65535 then return nil end
  end
  return lower(host), port
end

--- Parse a proxy URL. Returns { scheme, host, port (or nil), url } with the
-- URL rebuilt in one spelling (scheme and host lower case, no trailing
-- "/"), or nil and why (never echoing the value). With `default_scheme`,
-- a value without "scheme://" is taken as one of that scheme.
function M.parse(s, default_scheme)
  if type(s) ~= "string" or s == "" then return nil, "must be a non-empty string" end
  -- a space or control character would split a line, or hide in one
  if find(s, "[%z\1-\32\127]") then return nil, "contains a space or a control character" end
  if #s > 2048 then return nil, "is longer than 2048 bytes" end
  local scheme, rest = s:match("^(%a[%w+.-]*)://(.*)$")
  if not scheme then
    if not default_scheme then return nil, "has no scheme" end
    scheme, rest = default_scheme, s
  end
  scheme = lower(scheme)
  if not SCHEME[scheme] then return nil, "has a scheme other than " .. SCHEME_LIST end
  local authority, path = rest:match("^([^/?#]*)(.*)$")
  if path ~= "" and path ~= "/" then return nil, "has a path, a query or a fragment" end
  local userinfo, hostport = authority:match("^(.*)@(.*)$")
  if userinfo == "" then return nil, "has an empty user name before \"@\"" end
  local host, port = host_port(hostport or authority)
  if not host then return nil, "needs a host and an optional port from 1 to 65535" end
  return {
    scheme = scheme, host = host, port = port,
    url = scheme .. "://" .. (userinfo and (userinfo .. "@") or "") .. host .. (port and (":" .. port) or ""),
  }
end

-- ---- no_proxy --------------------------------------------------------------

-- An IP literal's bits, as { width, unit, unit... } (IPv4: 4 units of 8
-- bits; IPv6: 8 of 16), or nil. Read from ip.canonical's one spelling.
local function ip_units(s)
  local c = ip.canonical(s)
  if not c then return nil end
  local a, b, d, e = c:match("^(%d+)%.(%d+)%.(%d+)%.(%d+)$")
  if a then return { 8, tonumber(a), tonumber(b), tonumber(d), tonumber(e) } end
  local head, quad = c:match("^(.-)(%d+%.%d+%.%d+%.%d+)$")
  local tail = {}
  if quad then
    local q = ip_units(quad)
    tail = { q[2] * 256 + q[3], q[4] * 256 + q[5] }
    c = head:sub(-2) == "::" and head or head:sub(1, -2)
  end
  local left, right = c:match("^(.-)::(.*)$")
  local function groups(text, out)
    for g in text:gmatch("[^:]+") do out[#out + 1] = tonumber(g, 16) end
    return out
  end
  local units = groups(left or c, {})
  local after = groups(right or "", {})
  for i = 1, #tail do after[#after + 1] = tail[i] end
  for _ = 1, 8 - #units - #after do units[#units + 1] = 0 end
  for i = 1, #after do units[#units + 1] = after[i] end
  table.insert(units, 1, 16)
  return units
end

-- Do the first `bits` bits of two addresses of the same family agree?
local function same_prefix(a, b, bits)
  local width = a[1]
  if width ~= b[1] or bits > width * (#a - 1) then return false end
  for i = 2, #a do
    if bits <= 0 then return true end
    if bits >= width then
      if a[i] ~= b[i] then return false end
    else
      local scale = 2 ^ (width - bits)
      return floor(a[i] / scale) == floor(b[i] / scale)
    end
    bits = bits - width
  end
  return true
end

-- The host of a no_proxy entry and its port (or nil).
local function entry_parts(entry)
  local v6, port = entry:match("^%[([^%]]+)%]:?(%d*)$")
  if v6 then return v6, tonumber(port) end
  local name, p = entry:match("^([^:]*):(%d+)$")
  if name then return name, tonumber(p) end
  return entry, nil
end

-- Does one no_proxy entry match the host (lower case; an IPv6 one bare)?
local function entry_matches(entry, host, host_ip, port)
  local name, entry_port = entry_parts(entry)
  if entry_port and entry_port ~= port then return false end
  if host_ip then
    local addr, bits = name:match("^(.-)/(%d+)$")
    addr = ip_units(addr or name)
    if not addr then return false end
    bits = tonumber(bits) or (addr[1] * (#addr - 1))
    return same_prefix(addr, host_ip, bits)
  end
  name = lower(name):gsub("^%*?%.", ""):gsub("%.$", "")
  if name == "" then return false end
  return host == name or (#host > #name and host:sub(-#name - 1) == "." .. name)
end

--- Does the no_proxy list send `base` (a parsed base URL) direct?
function M.bypass(list, base)
  if list == nil then return false end
  local host = lower(base.host):gsub("^%[(.*)%]$", "%1"):gsub("%.$", "")
  local host_ip = ip_units(host)
  local port = base.port or DEFAULT_PORT[base.scheme]
  for entry in list:gmatch("[^,%s]+") do
    if entry == "*" or entry_matches(entry, host, host_ip, port) then return true end
  end
  return false
end

-- ---- the decision ------------------------------------------------------------

-- The first of these environment variables that is set and not empty.
local function first_env(getenv, names)
  for _, name in ipairs(names) do
    local v = getenv(name)
    if v ~= nil and v ~= "" then return v, name end
  end
  return nil
end

local function env_proxy_names(scheme)
  -- no upper-case HTTP_PROXY, as libcurl (httpoxy)
  if scheme == "http" then return { "http_proxy", "all_proxy", "ALL_PROXY" } end
  return { "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY" }
end

--- The proxy settings for a client.
-- option: the `proxy` option (nil/false, "env" or a URL); no_proxy: the
-- `no_proxy` option (nil or a list); base: the parsed base URL
-- ({ scheme, host, port, path }, proxyshard.wire.url.parse_base); allow_insecure:
-- the option; getenv: os.getenv unless given (for specs).
-- Returns { url = the proxy URL, no_proxy = the list that applied or nil,
-- source = "option" or "env", variable = the environment variable the
-- proxy came from (source "env") } when a proxy is used, { source = "none" }
-- when none is (no proxy asked for, none in the environment, or the base
-- host is in no_proxy); or nil and an invalid_argument error naming `proxy`
-- or `no_proxy`.
function M.settings(option, no_proxy, base, allow_insecure, getenv)
  getenv = getenv or os_getenv
  if no_proxy ~= nil then
    if type(no_proxy) ~= "string" then
      return nil, errors.invalid("no_proxy", "must be a string: host names and IPs separated by commas")
    end
    if find(no_proxy, "[%z\1-\8\10-\31\127]") then
      return nil, errors.invalid("no_proxy", "contains control characters (CR, LF, NUL...)")
    end
  end
  if option == nil or option == false then return { source = "none" } end
  if type(option) ~= "string" then
    return nil, errors.invalid("proxy", "must be false, \"env\" or a proxy URL such as http://proxy.example:3128")
  end

  local parsed, why, variable
  local source = "option"
  if option == "env" then
    source = "env"
    local value
    value, variable = first_env(getenv, env_proxy_names(base.scheme))
    if value == nil or url.is_loopback(base.host) then return { source = "none" } end
    parsed, why = M.parse(value, "http")
    if not parsed then
      return nil, errors.invalid("proxy", "is \"env\", and " .. variable .. " " .. why)
    end
    if no_proxy == nil then
      local from
      no_proxy, from = first_env(getenv, { "no_proxy", "NO_PROXY" })
      if no_proxy and find(no_proxy, "[%z\1-\8\10-\31\127]") then
        return nil, errors.invalid("no_proxy", "(" .. from .. ") contains control characters (CR, LF, NUL...)")
      end
    end
  else
    parsed, why = M.parse(option)
    if not parsed then
      return nil, errors.invalid("proxy", why .. " (expected scheme://[user:password@]host[:port], \"env\" or false)")
    end
  end

  if M.bypass(no_proxy, base) then return { source = "none" } end

  if base.scheme == "http" and not url.is_loopback(parsed.host) and not allow_insecure then
    -- the proxy would read the Authorization header in clear text
    local where = source == "env" and (" (from " .. variable .. ")") or ""
    return nil, errors.invalid("proxy", "is not on loopback" .. where .. " and the base URL is plain http: "
      .. "the proxy would read the token in clear text; use an https base URL, a loopback proxy, "
      .. "no proxy, or allow_insecure = true")
  end
  return { url = parsed.url, no_proxy = no_proxy, source = source, variable = variable }
end

return M
