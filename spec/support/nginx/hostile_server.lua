--- A hostile HTTP/1.1 front for spec/nginx_spec.lua (Lua 5.4 + cqueues):
-- it stands between nginx and the sandbox, passes requests through, and
-- misbehaves on the requests its rules pick, byte by byte, in ways the
-- sandbox (over lua-http) cannot.
--
--   lua5.4 spec/support/nginx/hostile_server.lua UPSTREAM_PORT [LIFETIME_SECONDS]
--
-- Prints "port=N" once listening on 127.0.0.1, then serves until SIGTERM or
-- the lifetime (default 300 s) runs out. Each accepted connection gets a
-- number, and every request is logged with it, so a spec can tell whether
-- nginx reused a connection.
--
-- Control (answered here, never passed on):
--   GET  /_hostile/log     {"requests":[{conn, nth, method, path}...]}
--   GET  /_hostile/stats   {"sent": body bytes the last "huge" answer got out}
--   POST /_hostile/rules   a rule (JSON), below
--   POST /_hostile/reset   forget rules, log and stats
-- A rule: { path = "/exact/path", method = "POST" (any when absent),
--   times = 1 (0: forever), action = ... }:
--   early_hints  the sandbox's real answer (so a purchase is charged), but
--                first "103 Early Hints", then `gap_ms` (default 100) later
--                the answer: the final one arrives in a packet of its own
--   drip         a canned 200 (`body`, default {}), every byte of it, status
--                line and headers included, `interval_ms` (default 250) apart;
--                with `body_only = true` the head at once, then the body so
--   huge         a 200 with a body of `bytes` (default 64 MiB) and its
--                Content-Length (or chunked with `chunked = true`); counts
--                the bytes that got out before the client hung up
--   junk         the sandbox's real answer with `junk` appended in the same
--                write (bytes after the end of the answer)
-- Everything else goes to the sandbox on a connection of its own
-- ("Connection: close"), and its answer comes back re-framed with a
-- Content-Length, so nginx's side of the connection stays kept-alive.
local cqueues = require "cqueues"
local socket = require "cqueues.socket"
local signal = require "cqueues.signal"
local cjson = require "cjson"

local upstream_port = assert(tonumber(arg[1]), "usage: hostile_server.lua UPSTREAM_PORT [LIFETIME]")
local lifetime = tonumber(arg[2]) or 300

local rules, log, stats = {}, {}, { sent = 0 }
local next_conn = 0

-- cqueues raises on a socket error unless told otherwise: a client that
-- hangs up mid-answer is what these rules are for.
local function errors_as_values(_, _, why)
  return why
end

local function read_line(con)
  local line, err = con:read("*l")
  if not line then return nil, err end
  return (line:gsub("\r$", ""))
end

-- One request or answer head: the first line and the header lines.
local function read_head(con)
  local first, err = read_line(con)
  if not first then return nil, err end
  local headers = {}
  while true do
    local line = read_line(con)
    if not line then return nil, "closed in the headers" end
    if line == "" then break end
    headers[#headers + 1] = line
  end
  return first, headers
end

local function header(headers, name)
  for _, line in ipairs(headers) do
    local n, v = line:match("^([^:]+):%s*(.-)%s*$")
    if n and n:lower() == name then return v end
  end
end

local function answer(status, reason, headers, body)
  local out = { ("HTTP/1.1 %d %s\r\n"):format(status, reason) }
  for _, line in ipairs(headers) do out[#out + 1] = line .. "\r\n" end
  out[#out + 1] = "Content-Length: " .. #body .. "\r\n\r\n"
  out[#out + 1] = body
  return table.concat(out)
end

local function json_answer(t)
  return answer(200, "OK", { "Content-Type: application/json" }, cjson.encode(t))
end

-- The request passed to the sandbox on a fresh connection; its answer
-- re-framed with a Content-Length (chunked or close-delimited undone).
local function from_sandbox(first, headers, body)
  local up = socket.connect { host = "127.0.0.1", port = upstream_port }
  up:onerror(errors_as_values)
  local ok, err = up:connect(5)
  if not ok then return answer(502, "Bad Gateway", {}, "hostile: sandbox unreachable: " .. tostring(err)) end
  up:setmode("b", "bf")
  up:settimeout(30)
  local out = { first .. "\r\n" }
  for _, line in ipairs(headers) do
    local n = line:match("^([^:]+):") or ""
    if n:lower() ~= "connection" then out[#out + 1] = line .. "\r\n" end
  end
  out[#out + 1] = "Connection: close\r\n\r\n"
  out[#out + 1] = body
  up:write(table.concat(out))
  up:flush()
  local raw = up:read("*a") or ""
  up:close()
  local head, rest = raw:match("^(.-)\r\n\r\n(.*)$")
  if not head then return answer(502, "Bad Gateway", {}, "hostile: no answer from the sandbox") end
  local lines = {}
  for line in head:gmatch("[^\r\n]+") do lines[#lines + 1] = line end
  local status_line = table.remove(lines, 1)
  local kept = {}
  for _, line in ipairs(lines) do
    local n = (line:match("^([^:]+):") or ""):lower()
    if n ~= "connection" and n ~= "content-length" and n ~= "transfer-encoding" and n ~= "keep-alive" then
      kept[#kept + 1] = line
    end
  end
  local res_body = rest
  if (header(lines, "transfer-encoding") or ""):lower():find("chunked", 1, true) then
    local parts, pos = {}, 1
    while true do
      local size_hex, after = rest:match("^(%x+)[^\r\n]*\r\n()", pos)
      local size = size_hex and tonumber(size_hex, 16)
      if not size or size == 0 then break end
      parts[#parts + 1] = rest:sub(after, after + size - 1)
      pos = after + size + 2
    end
    res_body = table.concat(parts)
  else
    local length = tonumber(header(lines, "content-length") or "")
    if length then res_body = rest:sub(1, length) end
  end
  local status, reason = status_line:match("^HTTP/%d%.%d (%d%d%d) ?(.*)$")
  return answer(tonumber(status) or 502, reason or "", kept, res_body)
end

-- Write and flush; false once the client is gone.
local function send(con, s)
  return con:write(s) ~= nil and con:flush() ~= nil
end

local function pick_rule(method, path)
  for i, r in ipairs(rules) do
    if r.path == path and (r.method == nil or r.method == method) then
      local times = r.times or 1
      if times ~= 0 then -- 0: forever
        r.times = times - 1
        if r.times == 0 then table.remove(rules, i) end
      end
      return r
    end
  end
end

local handle

-- Serves one request; true to keep the connection (HTTP/1.1 without
-- "Connection: close").
local function serve(con, conn)
  local first, headers = read_head(con)
  if not first then return false end
  local method, target, minor = first:match("^(%u+) (%S+) HTTP/1%.(%d)$")
  if not method then return false end
  local keep = handle(con, conn, first, headers, method, target)
  return keep and minor == "1" and not (header(headers, "connection") or ""):lower():find("close", 1, true)
end

function handle(con, conn, first, headers, method, target)
  local body = ""
  local length = tonumber(header(headers, "content-length") or "")
  if length and length > 0 then
    body = con:read(length)
    if not body then return false end
  end
  local path = target:match("^[^?]*")
  conn.served = conn.served + 1

  if path == "/_hostile/log" then
    return send(con, json_answer { requests = log })
  elseif path == "/_hostile/stats" then
    return send(con, json_answer(stats))
  elseif path == "/_hostile/reset" then
    rules, log, stats = {}, {}, { sent = 0 }
    return send(con, json_answer { ok = true })
  elseif path == "/_hostile/rules" then
    rules[#rules + 1] = cjson.decode(body)
    return send(con, json_answer { ok = true })
  end

  log[#log + 1] = { conn = conn.id, nth = conn.served, method = method, path = path }
  local rule = pick_rule(method, path)
  local action = rule and rule.action

  if action == "early_hints" then
    local final = from_sandbox(first, headers, body)
    if not send(con, "HTTP/1.1 103 Early Hints\r\nLink: </hints.css>; rel=preload\r\n\r\n") then return false end
    cqueues.sleep((rule.gap_ms or 100) / 1000)
    return send(con, final)
  elseif action == "drip" then
    local whole = answer(200, "OK", { "Content-Type: application/json" }, rule.body or "{}")
    local from = 1
    if rule.body_only then -- the head at once, then the body byte by byte
      from = whole:find("\r\n\r\n", 1, true) + 4
      if not send(con, whole:sub(1, from - 1)) then return false end
    end
    for i = from, #whole do
      if not send(con, whole:sub(i, i)) then return false end
      cqueues.sleep((rule.interval_ms or 250) / 1000)
    end
    return true
  elseif action == "huge" then
    -- cjson gives 5.4 a float: "Content-Length: 8388608.0" is no length
    local size = math.tointeger(rule.bytes) or 64 * 1024 * 1024
    stats.sent = 0
    local block = ("x"):rep(65536)
    local head = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
      .. (rule.chunked and "Transfer-Encoding: chunked\r\n\r\n" or ("Content-Length: " .. size .. "\r\n\r\n"))
    if not send(con, head) then return false end
    local left = size
    while left > 0 do
      local n = math.min(left, #block)
      local piece = n == #block and block or block:sub(1, n)
      if rule.chunked then piece = ("%x\r\n%s\r\n"):format(n, piece) end
      if not send(con, piece) then return false end
      stats.sent = stats.sent + n
      left = left - n
    end
    if rule.chunked then return send(con, "0\r\n\r\n") end
    return true
  elseif action == "junk" then
    return send(con, from_sandbox(first, headers, body) .. (rule.junk or "HTTP/1.1 200 OK\r\n\r\njunk"))
  end
  return send(con, from_sandbox(first, headers, body))
end

local cq = cqueues.new()
local srv = assert(socket.listen { host = "127.0.0.1", port = 0, reuseaddr = true })
assert(srv:listen())
local _, _, port = srv:localname()
io.stdout:write("port=", port, "\n")
io.stdout:flush()

signal.block(signal.SIGTERM)
local term = signal.listen(signal.SIGTERM)

cq:wrap(function()
  for con in srv:clients() do
    next_conn = next_conn + 1
    local conn = { id = next_conn, served = 0 }
    cq:wrap(function()
      con:onerror(errors_as_values)
      con:setmode("b", "bf")
      con:settimeout(60)
      while serve(con, conn) do end
      con:close()
    end)
  end
end)
cq:wrap(function()
  term:wait(lifetime)
  os.exit(0)
end)
assert(cq:loop())
