--- Proxy lists in the formats scrapers and proxy tools read: one line per
-- proxy, nothing else (a CSV has its header line first).
--
--   txt       ip:port:user:pass            (IPv6 as [ip]; credentials as they are)
--   url       http://user:pass@ip:port     (IPv6 as [ip]; credentials
--             percent-encoded, RFC 3986); `scheme` picks the port:
--             http/https the HTTP port, socks4/socks4a/socks5/socks5h the SOCKS one
--   csv       a header line, then ip,http_port,socks_port,username,password,
--             status,signature,until,order_id (RFC 4180 quoting)
--   json      one JSON object per line (JSON Lines), the same fields and `url`
--   a template  any text with {field}s: ip, host (ip, IPv6 in brackets),
--             port (by scheme), http_port, socks_port, username, password,
--             user and pass (percent-encoded), scheme, url, status,
--             signature, until, order_id; "{{" and "}}" are braces
--
-- `txt` splits on ":", so a password with ":" in it is ambiguous there: `url`,
-- `csv` and `json` keep any password whole.
-- @module proxyshard.model.proxy_export
local errors = require "proxyshard.errors"
local url = require "proxyshard.wire.url"
local json = require "proxyshard.wire.json"
local options = require "proxyshard.check.options"

local type = type
local tostring = tostring
local find = string.find
local sub = string.sub
local gsub = string.gsub
local format = string.format
local concat = table.concat

local M = {}

--- The port each scheme uses, by the proxy's field.
M.SCHEMES = {
  http = "http_port", https = "http_port",
  socks4 = "socks_port", socks4a = "socks_port", socks5 = "socks_port", socks5h = "socks_port",
}

--- The named formats.
M.FORMATS = { txt = true, url = true, csv = true, json = true }

M.CSV_COLUMNS = { "ip", "http_port", "socks_port", "username", "password", "status", "signature", "until",
  "order_id" }

local function text(v)
  if v == nil then return "" end
  if type(v) == "number" then return format("%d", v) end
  return tostring(v)
end

--- The scheme checked: nil, err for one that is not a proxy scheme.
function M.scheme(scheme)
  scheme = scheme or "http"
  if not M.SCHEMES[scheme] then
    local hint = options.closest(tostring(scheme), M.SCHEMES)
    return nil, errors.invalid("scheme", format("must be http, https, socks4, socks4a, socks5 or socks5h, got %s%s",
      tostring(scheme), hint and format(' (did you mean "%s"?)', hint) or ""))
  end
  return scheme
end

-- The host as a URL writes it: an IPv6 address in brackets.
local function host(ip)
  ip = text(ip)
  if find(ip, ":", 1, true) then return "[" .. ip .. "]" end
  return ip
end

-- The fields a template or a format can use, for proxy `p` and `scheme`.
local function fields(p, scheme)
  local port = p[M.SCHEMES[scheme]]
  local f = {
    ip = text(p.ip), host = host(p.ip), port = text(port), http_port = text(p.http_port),
    socks_port = text(p.socks_port), username = text(p.username), password = text(p.password),
    user = url.encode(text(p.username)), pass = url.encode(text(p.password)), scheme = scheme,
    status = text(p.status), signature = text(p.signature), ["until"] = text(p["until"]),
    order_id = text(p.order_id),
  }
  local auth = (p.username or p.password) and (f.user .. ":" .. f.pass .. "@") or ""
  f.url = scheme .. "://" .. auth .. f.host .. ":" .. f.port
  return f
end

M.FIELDS = fields({ ip = "", http_port = 0 }, "http") -- the names, for messages and help

--- proxy:url{ scheme = "http" }: the proxy as a URL, credentials
-- percent-encoded, IPv6 in brackets; or nil, err for a bad scheme.
function M.url(p, opts)
  local scheme, err = M.scheme(type(opts) == "table" and opts.scheme or nil)
  if not scheme then return nil, err end
  return fields(p, scheme).url
end

-- A CSV field: quoted when it holds a comma, a quote or a line break.
local function csv_field(s)
  if find(s, '[,"\r\n]') then return '"' .. gsub(s, '"', '""') .. '"' end
  return s
end

-- A template's pieces, read left to right: literal text, and { field }
-- for each {field}; "{{" and "}}" are literal braces. nil, the bad field
-- (or "{" for a brace that is not closed).
local function pieces_of(template)
  local out, i, n, lit = {}, 1, #template, {}
  while i <= n do
    local c, d = sub(template, i, i), sub(template, i + 1, i + 1)
    if (c == "{" and d == "{") or (c == "}" and d == "}") then
      lit[#lit + 1], i = c, i + 2
    elseif c == "{" then
      local close = find(template, "}", i + 1, true)
      local name = close and sub(template, i + 1, close - 1)
      if not name or find(name, "{", 1, true) then return nil, "{" end
      if M.FIELDS[name] == nil then return nil, name end
      if #lit > 0 then out[#out + 1], lit = concat(lit), {} end
      out[#out + 1], i = { name }, close + 1
    else
      lit[#lit + 1], i = c, i + 1
    end
  end
  if #lit > 0 then out[#out + 1] = concat(lit) end
  return out
end

--- The template fields, sorted, as one line ("host, http_port, ...").
function M.field_names()
  local names = {}
  for name in pairs(M.FIELDS) do names[#names + 1] = name end
  table.sort(names)
  return concat(names, ", ")
end

--- A template checked once: a function (proxy, scheme) -> line, or nil,
-- err naming the first unknown field.
function M.template(template)
  if type(template) ~= "string" then return nil, errors.invalid("template", "must be a string") end
  local pieces, bad = pieces_of(template)
  if not pieces then
    if bad == "{" then return nil, errors.invalid("template", "has a { that is not closed (write {{ for a brace)") end
    local hint = options.closest(bad, M.FIELDS)
    return nil, errors.invalid("template", format("has an unknown field {%s}%s; the fields are %s", bad,
      hint and format(' (did you mean {%s}?)', hint) or "", M.field_names()))
  end
  return function(p, scheme)
    local f, out = fields(p, scheme), {}
    for i = 1, #pieces do
      local piece = pieces[i]
      out[i] = type(piece) == "table" and f[piece[1]] or piece
    end
    return concat(out)
  end
end

--- The text of the list `list` in `fmt` (a format's name, or a template
-- with {field}s): its lines, each ending in "\n"; or nil, err. opts.scheme
-- (default "http") picks the port and the URL's scheme.
function M.format(list, fmt, opts)
  local scheme, err = M.scheme(type(opts) == "table" and opts.scheme or nil)
  if not scheme then return nil, err end
  if type(fmt) ~= "string" then return nil, errors.invalid("format", "must be txt, url, csv, json or a template") end
  local line
  if fmt == "txt" then
    line = function(p)
      local f = fields(p, scheme)
      return f.host .. ":" .. f.port .. ":" .. f.username .. ":" .. f.password
    end
  elseif fmt == "url" then
    line = function(p) return fields(p, scheme).url end
  elseif fmt == "csv" then
    line = function(p)
      local f, out = fields(p, scheme), {}
      for i, name in ipairs(M.CSV_COLUMNS) do out[i] = csv_field(f[name]) end
      return concat(out, ",")
    end
  elseif fmt == "json" then
    line = function(p)
      local f = fields(p, scheme)
      return json.encode {
        ip = p.ip, http_port = p.http_port, socks_port = p.socks_port, username = p.username,
        password = p.password, status = p.status, signature = p.signature, ["until"] = p["until"],
        order_id = p.order_id, url = f.url,
      }
    end
  elseif find(fmt, "{", 1, true) then
    local fill
    fill, err = M.template(fmt)
    if not fill then return nil, err end
    line = function(p) return fill(p, scheme) end
  else
    local hint = options.closest(fmt, M.FORMATS)
    return nil, errors.invalid("format", format("must be txt, url, csv, json or a template with {fields}, got %s%s",
      fmt, hint and format(' (did you mean "%s"?)', hint) or ""))
  end
  local out = {}
  if fmt == "csv" then out[1] = concat(M.CSV_COLUMNS, ",") end
  for i = 1, #list do out[#out + 1] = line(list[i]) end
  if #out == 0 then return "" end
  return concat(out, "\n") .. "\n"
end

return M
