-- A small HTTP/1.1 test server for spec/core_session_spec.lua (Lua 5.4 +
-- LuaSocket, optional LuaSec for --tls). Speaks HTTP by hand on purpose so
-- the specs can misbehave in ways a real server would not (drop a request
-- after reading it, fold headers, send an unsolicited 100 Continue).
--
--   lua5.4 spec/support/raw_http_server.lua [--lifetime SECONDS] [--tls CERT KEY]
--
-- Prints "port=N" on stdout once listening on 127.0.0.1, then serves until
-- the lifetime (default 60 s) runs out or GET /quit. Keep-alive is the
-- default; connections are served one request at a time through select().
--
-- Routes (the path is matched without its query; every request is counted
-- per path):
--   /count?path=P        {"count": n} requests seen so far for path P
--   /drop-after-read...  read the whole request, close without answering
--   /slow?ms=N           wait N ms, then echo
--   /big?bytes=N[&chunked=1]  N bytes of "x"
--   /status?code=N       that status with an HTML body
--   /headers             repeated and folded response headers
--   /many-headers?n=N    N response header lines of ~100 bytes each
--   /continue            an unsolicited "100 Continue" before the answer
--   /quit                answer, then exit
--   anything else        echo the request as JSON
local socket = require "socket"
local cjson = require "cjson"

local lifetime, tls_cert, tls_key = 60, nil, nil
do
  local i = 1
  while arg[i] do
    if arg[i] == "--lifetime" then
      lifetime = assert(tonumber(arg[i + 1]), "--lifetime SECONDS")
      i = i + 2
    elseif arg[i] == "--tls" then
      tls_cert, tls_key = assert(arg[i + 1]), assert(arg[i + 2])
      i = i + 3
    else
      error("unknown argument " .. arg[i])
    end
  end
end

local ssl, ssl_ctx
if tls_cert then
  ssl = require "ssl"
  ssl_ctx = assert(ssl.newcontext {
    mode = "server", protocol = "any", key = tls_key, certificate = tls_cert,
  })
end

local server = assert(socket.bind("127.0.0.1", 0))
server:settimeout(1)
local _, port = server:getsockname()
io.stdout:write("port=", port, "\n")
io.stdout:flush()

local REASONS = {
  [100] = "Continue", [200] = "OK", [201] = "Created", [204] = "No Content",
  [400] = "Bad Request", [404] = "Not Found", [409] = "Conflict",
  [429] = "Too Many Requests", [500] = "Internal Server Error",
  [502] = "Bad Gateway", [503] = "Service Unavailable",
}

local counts = {}        -- path -> requests seen
local conns = {}         -- socket -> { sock, id, served }
local next_conn_id = 0

local function parse_query(q)
  local t = {}
  for k, v in (q or ""):gmatch("([^&=]+)=?([^&]*)") do
    t[k] = v:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end)
  end
  return t
end

-- Reads one request; nil, err when the peer closed or sent garbage.
local function read_request(c)
  local line, err = c:receive("*l")
  if not line then return nil, err end
  local method, target, version = line:match("^(%u+) (%S+) (HTTP/%d%.%d)$")
  if not method then return nil, "bad request line: " .. line end
  local headers, list = {}, {}
  while true do
    local h, e = c:receive("*l")
    if not h then return nil, e end
    if h == "" then break end
    local name, value = h:match("^([^:]+):[ \t]*(.-)[ \t]*$")
    if name then
      list[#list + 1] = { name, value }
      local k = name:lower()
      headers[k] = headers[k] and (headers[k] .. ", " .. value) or value
    end
  end
  if (headers["expect"] or ""):lower() == "100-continue" then
    c:send("HTTP/1.1 100 Continue\r\n\r\n")
  end
  local body = ""
  if (headers["transfer-encoding"] or ""):lower():find("chunked", 1, true) then
    local parts = {}
    while true do
      local size_line = c:receive("*l")
      if not size_line then return nil, "closed in chunked body" end
      local n = tonumber(size_line:match("^%x+"), 16)
      if not n then return nil, "bad chunk size" end
      if n == 0 then
        repeat local t = c:receive("*l") until t == nil or t == ""
        break
      end
      parts[#parts + 1] = c:receive(n)
      c:receive("*l")
    end
    body = table.concat(parts)
  elseif headers["content-length"] then
    local n = tonumber(headers["content-length"])
    if n and n > 0 then
      local b, e = c:receive(n)
      if not b then return nil, e end
      body = b
    end
  end
  local path, query = target:match("^([^?]*)%??(.*)$")
  return {
    method = method, target = target, path = path, query = parse_query(query),
    version = version, headers = headers, header_list = list, body = body,
  }
end

-- headers: array of { name, value }; Content-Length added unless chunked.
local function respond(c, status, headers, body)
  local out = { ("HTTP/1.1 %d %s\r\n"):format(status, REASONS[status] or "Status") }
  local has_length = false
  for _, h in ipairs(headers) do
    out[#out + 1] = h[1] .. ": " .. h[2] .. "\r\n"
    local k = h[1]:lower()
    if k == "content-length" or k == "transfer-encoding" then has_length = true end
  end
  if not has_length then out[#out + 1] = "Content-Length: " .. #body .. "\r\n" end
  out[#out + 1] = "\r\n"
  out[#out + 1] = body
  return c:send(table.concat(out)) ~= nil
end

local function json(c, status, t)
  return respond(c, status, { { "Content-Type", "application/json" } }, cjson.encode(t))
end

local function echo(c, conn, req)
  return json(c, 200, {
    method = req.method, target = req.target, path = req.path,
    headers = req.headers, header_list = req.header_list, body = req.body,
    conn = conn.id, nth = conn.served,
  })
end

local quit = false

-- Serves one request; returns true to keep the connection open.
local function serve(conn)
  local c = conn.sock
  local req = read_request(c)
  if not req then return false end
  conn.served = conn.served + 1
  counts[req.path] = (counts[req.path] or 0) + 1
  local p, q = req.path, req.query

  if p == "/count" then
    return json(c, 200, { count = counts[q.path or ""] or 0 })
  elseif p:sub(1, 16) == "/drop-after-read" then
    return false
  elseif p == "/slow" then
    socket.sleep((tonumber(q.ms) or 1000) / 1000)
    return echo(c, conn, req)
  elseif p == "/big" then
    local n = tonumber(q.bytes) or 0
    if q.chunked == "1" then
      if not c:send("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n") then
        return false
      end
      local left = n
      while left > 0 do
        local k = math.min(left, 65536)
        if not c:send(("%x\r\n%s\r\n"):format(k, ("x"):rep(k))) then return false end
        left = left - k
      end
      return c:send("0\r\n\r\n") ~= nil
    end
    return respond(c, 200, { { "Content-Type", "text/plain" } }, ("x"):rep(n))
  elseif p == "/status" then
    local code = tonumber(q.code) or 500
    local text = REASONS[code] or "Status"
    return respond(c, code, { { "Content-Type", "text/html" }, { "Retry-After", "1" } },
      ("<html><body><h1>%d %s</h1></body></html>"):format(code, text))
  elseif p == "/headers" then
    local body = "ok"
    return c:send(table.concat {
      "HTTP/1.1 200 OK\r\n",
      "Content-Type: text/plain\r\n",
      "X-Dup: one\r\n",
      "Set-Cookie: a=1\r\n",
      "x-dup: two\r\n",
      "Set-Cookie: b=2\r\n",
      "X-Folded: first\r\n",
      "  second\r\n",
      "X-Spaces:   padded value  \r\n",
      "X-Empty:\r\n",
      "Content-Length: ", #body, "\r\n\r\n", body,
    }) ~= nil
  elseif p == "/many-headers" then
    local hs = {}
    for i = 1, tonumber(q.n) or 10 do hs[i] = { "X-H" .. i, ("h"):rep(100) } end
    return respond(c, 200, hs, "ok")
  elseif p == "/continue" then
    if not c:send("HTTP/1.1 100 Continue\r\nX-Interim: yes\r\n\r\n") then return false end
    return echo(c, conn, req)
  elseif p == "/quit" then
    quit = true
    respond(c, 200, { { "Connection", "close" } }, "bye")
    return false
  end
  return echo(c, conn, req)
end

local function drop(conn)
  conn.sock:close()
  conns[conn.sock] = nil
end

local deadline = socket.gettime() + lifetime
while not quit and socket.gettime() < deadline do
  local watch = { server }
  for s in pairs(conns) do watch[#watch + 1] = s end
  local readable = socket.select(watch, nil, 0.5)
  for _, s in ipairs(readable) do
    if s == server then
      local cs = server:accept()
      if cs then
        cs:settimeout(5)
        if ssl_ctx then
          local w = assert(ssl.wrap(cs, ssl_ctx))
          w:settimeout(5)
          if w:dohandshake() then cs = w else w:close(); cs = nil end
        end
        if cs then
          next_conn_id = next_conn_id + 1
          conns[cs] = { sock = cs, id = next_conn_id, served = 0 }
        end
      end
    elseif conns[s] then
      local conn = conns[s]
      -- Requests already buffered (pipelined or TLS records) are not seen
      -- by select(), so keep serving while the socket has buffered data.
      repeat
        local keep = serve(conn)
        if not keep then drop(conn) end
      until not keep or quit or not conn.sock:dirty()
    end
  end
end

for _, conn in pairs(conns) do conn.sock:close() end
server:close()
os.exit(0)
