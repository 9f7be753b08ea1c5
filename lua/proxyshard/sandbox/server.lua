--- HTTP/1.1 front end of the ProxyShard sandbox, over lua-http + cqueues.
--
--   local server = require "proxyshard.sandbox.server"
--   local srv = assert(server.start{ host = "127.0.0.1", port = 0, state = sb,
--                                    log = io.stderr })
--   print(srv:url())   -- http://127.0.0.1:PORT
--   srv:loop()         -- until srv:stop() is called from inside the loop
--
-- With `tls = { cert = "cert.pem", key = "key.pem" }` it serves HTTPS only.
--
-- All the API logic lives behind `proxyshard.sandbox.world.state` (routing,
-- parameters, handlers, rendering); this file only turns HTTP requests into
-- `state:handle` calls and back. Every answer
-- carries Content-Length so HTTP/1.1 keep-alive works, and fault delays use
-- cqueues.sleep, which parks only the current stream's coroutine (each
-- stream runs in its own coroutine, so other connections keep being served).
--
-- Faults that are not plain answers (`res.fault.action`, see
-- proxyshard.sandbox.world.state) are carried out here, on lua-http's HTTP/1.1
-- stream and connection objects:
--   drop      `stream.connection:take_socket()` detaches the socket from
--             lua-http (the pending stream is closed without the automatic
--             503 lua-http would otherwise send), then the socket is closed:
--             the client gets a FIN and not one byte.
--   truncate  `stream:write_headers` with the Content-Length of the whole
--             body (lua-http checks the length only when the stream ends),
--             `stream:write_chunk(first half, false)`, which flushes, then
--             take the socket and close it.
--   stall     `stream:write_headers` (flushed), `cqueues.sleep(stall_ms)`,
--             then take the socket and close it.
-- Only this connection is closed; the listening socket and the other
-- connections are untouched. The server speaks HTTP/1.1 only (no h2), so
-- these byte-level shapes mean what they say.
--
-- A rule with commit = "after_delay" gives a response with `finish`: the
-- stream's coroutine sleeps, then calls it. A client that hangs up meanwhile
-- cannot cancel that: cqueues.sleep wakes on its timer only, and lua-http
-- closes a connection only once its stream's coroutine has returned (it
-- waits for the stream to go idle), so the handling runs and only the
-- writes that follow fail (they return errors; cqueues sends with
-- MSG_NOSIGNAL, so no SIGPIPE). Stopping the server during the wait does
-- drop it: the coroutine is never resumed.
--
-- Request bodies are capped at MAX_BODY_BYTES: a larger Content-Length is
-- answered 413 before a byte of the body is read (and before any
-- "100 Continue"); a chunked body is read chunk by chunk, each chunk's size
-- line looked at before lua-http reads the chunk, and answered 413 as soon
-- as the next chunk would pass the cap. A 413 closes the connection, since
-- the rest of the body is left unread (after a bounded drain, so the close
-- does not reset the connection under the client's feet). A chunked body
-- whose framing is broken is answered 400 the same way.
--
-- The request head guard: before lua-http parses a request,
-- proxyshard.sandbox.head_guard reads its head off the socket and checks
-- it. lua-http spins at 100% CPU, deaf to everything, SIGTERM included, on
-- a Content-Length or Transfer-Encoding it cannot read, answers an empty
-- 503 or 400 to too many or unparsable header fields, and drops a request
-- line over 4 KiB without a word. A head the guard refuses is answered 400,
-- 408, 414 or 505, written on the socket itself (lua-http has no stream
-- state for it), and the connection closes; a sound head is put back for
-- lua-http to parse. Every answer the server makes itself (these, 413,
-- 500) is in the API's error shape, ApiError JSON.
--
-- What comes in must be UTF-8: the target (also once %-decoded) and the
-- header values (checked by the guard) and the body (checked here); else
-- 400. Answers and the control dumps echo it, and they are JSON.
--
-- Slow and idle clients: a connection that sends nothing is closed after
-- IDLE_TIMEOUT (lua-http would keep it for ever: its own idle timeout
-- starts after a first request); a head must come whole within
-- HEAD_TIMEOUT of its first byte (else 408); a body within READ_TIMEOUT.
-- Each connection is a coroutine of its own, so the others, /health
-- included, are served meanwhile; a long dump of the request log pauses
-- between pieces (`state.pause`, set here) for the same reason.
-- `Server:step_seconds` tells how long the controller step under way has
-- run: bin/proxyshard-sandbox's SIGTERM backstop uses it against code that
-- never yields.

-- Debian packages lua-http for Lua 5.1-5.3 only; it runs on 5.4 once the
-- 5.3/5.2 share dirs are on the path. Only touch package.path when the plain
-- require fails, so a proper 5.4 install is used as is.
local function require_http()
  local ok, mod = pcall(require, "http.server")
  if ok then return mod end
  package.path = package.path
    .. ";/usr/share/lua/5.3/?.lua;/usr/share/lua/5.3/?/init.lua"
    .. ";/usr/share/lua/5.2/?.lua;/usr/share/lua/5.2/?/init.lua"
  return require "http.server"
end

local http_server = require_http()
local http_headers = require "http.headers"
local reason_phrases = require "http.h1_reason_phrases"
local cqueues = require "cqueues"
local ce = require "cqueues.errno"
local json = require "proxyshard.wire.json"
local head_guard = require "proxyshard.sandbox.head_guard"
local text = require "proxyshard.sandbox.text"

local M = {}

local Server = {}
Server.__index = Server

-- Seconds to wait for a client to send its headers and body.
local READ_TIMEOUT = 30
-- Seconds a request head may take from its first byte (then 408), and a
-- connection may sit idle before its next request (then it is closed): a
-- client that opens connections and sends little or nothing holds each one
-- only that long.
local HEAD_TIMEOUT = 10
local IDLE_TIMEOUT = 10
-- Largest request body accepted; the API's bodies are a few hundred bytes,
-- a fault rule with a canned body a few KiB.
local MAX_BODY_BYTES = 64 * 1024
M.MAX_BODY_BYTES = MAX_BODY_BYTES
-- Upper bound of one controller step, so `loop` notices `stop` even when the
-- call came from outside the controller.
local STEP_TIMEOUT = 0.5

local function log_line(self, fmt, ...)
  if self.log then
    self.log:write(os.date("!%Y-%m-%dT%H:%M:%SZ "), fmt:format(...), "\n")
    if self.log.flush then self.log:flush() end
  end
end

local function response_headers(res, body)
  local h = http_headers.new()
  h:append(":status", tostring(res.status))
  for name, value in pairs(res.headers or {}) do
    h:append(string.lower(name), tostring(value))
  end
  h:upsert("content-length", tostring(#body))
  return h
end

local function write_response(stream, method, res)
  local body = res.body or ""
  local h = response_headers(res, body)
  if method == "HEAD" or #body == 0 then
    return stream:write_headers(h, true)
  end
  local ok, err = stream:write_headers(h, false)
  if not ok then return nil, err end
  return stream:write_chunk(body, true)
end

-- Detach the connection's socket from lua-http and close it. take_socket
-- shuts the connection's pending streams down first; as the socket is gone
-- by then, lua-http cannot write its automatic error answer.
local function close_connection(stream)
  local conn = stream.connection
  local sock = conn and conn.take_socket and conn:take_socket()
  if sock then pcall(sock.close, sock) end
end

-- Carry out a fault action other than "answer"; returns a word for the log.
local function shape_answer(stream, res, fault)
  local body = res.body or ""
  if fault.action == "drop" then
    close_connection(stream)
    return "dropped"
  elseif fault.action == "truncate" then
    local ok = stream:write_headers(response_headers(res, body), false)
    local part = body:sub(1, fault.send_bytes or #body // 2)
    if ok and #part > 0 then stream:write_chunk(part, false) end
    close_connection(stream)
    return ("truncated after %d of %d bytes"):format(#part, #body)
  elseif fault.action == "stall" then
    stream:write_headers(response_headers(res, body), false)
    cqueues.sleep((fault.stall_ms or 0) / 1000)
    close_connection(stream)
    return ("stalled %d ms"):format(fault.stall_ms or 0)
  end
  return nil
end

-- A number per TCP connection, in order of first request, so the request
-- log shows which requests shared a kept-alive connection.
local function connection_id(self, connection)
  local ids = self.connection_ids
  if not ids[connection] then
    self.connections = self.connections + 1
    ids[connection] = self.connections
  end
  return ids[connection]
end

-- The request headers as a table (names lower-case; repeated headers are
-- folded the usual way).
local function header_table(req_headers)
  local headers = {}
  for name, value in req_headers:each() do
    if name:sub(1, 1) ~= ":" then
      headers[name] = headers[name] and (headers[name] .. ", " .. value) or value
    end
  end
  return headers
end

-- An answer in the API's error shape (ApiError: success false, a message).
local function api_error(status, message, headers)
  local h = { ["content-type"] = "application/json" }
  for k, v in pairs(headers or {}) do h[k] = v end
  return { status = status, headers = h, body = json.encode { success = false, message = message } }
end

local TOO_LARGE_BODY = ("Request body too large: the sandbox takes at most %d bytes"):format(MAX_BODY_BYTES)

local function declared_too_large(headers)
  local length = headers["content-length"]
  local n = length and length:match("^%s*(%d+)%s*$")
  -- more digits than the cap has cannot be below it (and would overflow)
  return n ~= nil and (#n > #tostring(MAX_BODY_BYTES) or tonumber(n) > MAX_BODY_BYTES)
end

local function is_chunked(headers)
  local te = headers["transfer-encoding"]
  return te ~= nil and te:lower():find("chunked", 1, true) ~= nil
end

-- Size announced by the next chunk's size line, which is put back for
-- lua-http to read; false for a line that is no size line (lua-http would
-- take "5x" for 5); nil when no line came (lua-http then reports the
-- closed or silent connection itself).
local function next_chunk_size(stream, timeout)
  local sock = stream.connection.socket
  local line = sock and sock:xread("*L", timeout)
  if not line then return nil end
  sock:unget(line)
  local hex = line:match("^(%x+)[ \t]*[;\r]")
  return hex and tonumber(hex, 16) or false
end

-- The whole body as a string, or nil and "too large", nil and "malformed"
-- (chunked framing broken), or nil and a read error (the client went away
-- or timed out).
local function read_capped_body(stream, headers)
  local deadline = cqueues.monotime() + READ_TIMEOUT
  local chunked = is_chunked(headers)
  local parts, size = {}, 0
  while true do
    local left = deadline - cqueues.monotime()
    if chunked then
      local next_size = next_chunk_size(stream, left)
      if next_size == false then return nil, "malformed" end
      if next_size and size + next_size > MAX_BODY_BYTES then return nil, "too large" end
    end
    local chunk, err, errno = stream:get_next_chunk(left)
    if chunk == nil then
      if err ~= nil then return nil, errno == ce.EILSEQ and "malformed" or err end
      -- lua-http reads a connection closed early as the end of the body
      local declared = not chunked and tonumber(headers["content-length"] or "")
      if declared and size < declared then return nil, "incomplete" end
      return table.concat(parts)
    end
    size = size + #chunk
    -- a compressed transfer coding can inflate past what the size lines said
    if size > MAX_BODY_BYTES then return nil, "too large" end
    parts[#parts + 1] = chunk
  end
end

-- Closes a socket whose request was answered before it was read: FIN after
-- the answer, then what the client still sends is read and thrown away,
-- within bounds, before the close. Closing with unread data would send an
-- RST, which can make the client lose the answer it has not read yet.
local LINGER_SECONDS, LINGER_BYTES = 2, 4 * 1024 * 1024
local function linger_close(sock)
  -- errors come back as values (cqueues raises most by default): any of
  -- them ends the drain, and the socket is closed whatever happened
  sock:onerror(function(_, _, why) return why end)
  sock:clearerr() -- lua-http leaves a parse error set on the socket
  sock:shutdown("w")
  local deadline, drained = cqueues.monotime() + LINGER_SECONDS, 0
  while drained < LINGER_BYTES do
    local left = deadline - cqueues.monotime()
    local data = left > 0 and sock:xread(-16384, left)
    if not data then break end -- the client closed, went quiet or failed
    drained = drained + #data
  end
  sock:close()
end

local function close_lingering(stream)
  local sock = stream.connection:take_socket()
  if sock then linger_close(sock) end
end

-- Refuses a request whose body is not read to its end (too large, broken
-- chunked framing): the answer, then the connection closes, as the rest of
-- the body is left unread.
local function refuse_body(self, stream, method, target, status, message)
  write_response(stream, method, api_error(status, message, { connection = "close" }))
  log_line(self, "%s %s -> %d (%s)", method, target, status, message)
  close_lingering(stream)
end

-- Refuses a request whose head the guard did not pass on to lua-http (see
-- proxyshard.sandbox.head_guard): lua-http has no stream state for it, so
-- the answer is written on the socket itself, then the connection closes
-- (where the next request would start is unknown).
local function refuse_head(self, stream, status, message)
  local conn = stream.connection
  -- a pipelined request answers after the one before it has answered
  if conn.pipeline:peek() ~= stream then cqueues.poll(stream.pipeline_cond, READ_TIMEOUT) end
  local sock = conn:take_socket()
  if not sock then return end
  sock:onerror(function(_, _, why) return why end)
  local res = api_error(status, message)
  local head = { ("HTTP/1.1 %d %s\r\n"):format(status, reason_phrases[tostring(status)] or "Error") }
  for name, value in pairs(res.headers) do head[#head + 1] = name .. ": " .. value .. "\r\n" end
  head[#head + 1] = ("content-length: %d\r\nconnection: close\r\n\r\n"):format(#res.body)
  sock:xwrite(table.concat(head) .. res.body, "n", READ_TIMEOUT)
  log_line(self, "request head refused -> %d (%s)", status, message)
  linger_close(sock)
end

local INTERNAL_ERROR = api_error(500, "Sandbox internal error")

-- Calls `fn(...)`; a sandbox bug becomes a 500 answer and a log line.
local function answer_or_500(self, fn, ...)
  local ok, res = pcall(fn, ...)
  if ok then return res end
  log_line(self, "handler error: %s", tostring(res))
  return INTERNAL_ERROR
end

-- Sleeps the fault delay; for a commit = "after_delay" rule the handling
-- happens after the sleep, whatever the client did meanwhile.
local function wait_for_answer(self, res, method, target)
  local delay = res.delay or 0
  if delay > 0 then cqueues.sleep(delay) end
  if not res.finish then return res end
  res = answer_or_500(self, res.finish)
  local fault = res.fault or {}
  -- rounded: delay_ms / 1000 * 1000 is not always whole again, and %d would raise
  log_line(self, "%s %s: %s after %d ms (fault %s)", method, target,
    fault.cancelled and "cancelled by a reset" or "handled", math.floor(delay * 1000 + 0.5), tostring(fault.id))
  return res
end

local function onstream(self, stream)
  -- The head is read and checked before lua-http parses it (see
  -- proxyshard.sandbox.head_guard); a head it would choke on is refused here.
  local sock = stream.connection.socket
  if not sock then return end
  local head, status, message = head_guard.read(sock, self.head_timeout)
  if not head then
    if status then return refuse_head(self, stream, status, message) end
    return close_connection(stream) -- the client went away mid-head
  end
  local req_headers = stream:get_headers(READ_TIMEOUT)
  -- cannot happen to a head the guard passed, short of a socket error; the
  -- connection is closed here rather than left to lua-http's shutdown
  if not req_headers then return close_connection(stream) end
  local method = req_headers:get(":method") or "GET"
  local target = req_headers:get(":path") or "/"
  local path, query = target:match("^([^?]*)%?(.*)$")
  if not path then path = target end
  local headers = header_table(req_headers)

  -- Refused before the body is sent at all when the client waits for a
  -- "100 Continue".
  if declared_too_large(headers) then return refuse_body(self, stream, method, target, 413, TOO_LARGE_BODY) end

  -- Answer "Expect: 100-continue" (curl sends it for bodies over 1 KiB),
  -- otherwise the client waits a second before sending the body.
  if headers.expect and headers.expect:lower() == "100-continue"
      and stream.peer_version ~= 1.0 then
    local cont = http_headers.new()
    cont:append(":status", "100")
    stream:write_headers(cont, false)
  end

  local body, why = read_capped_body(stream, headers)
  if why == "too large" then return refuse_body(self, stream, method, target, 413, TOO_LARGE_BODY) end
  if why == "malformed" then return refuse_body(self, stream, method, target, 400, "Malformed chunked body") end
  if body == nil then
    -- The client went away or timed out. The connection is closed here: left
    -- to lua-http, a stream whose peer closed mid-body spins in its shutdown
    -- (h1_stream's drain loop takes the EOF for progress) and blocks the
    -- whole server.
    log_line(self, "%s %s: body not read (%s), connection closed", method, target, tostring(why))
    return close_connection(stream)
  end
  -- What is taken in is echoed in answers and kept in the request log, all
  -- JSON: text that is not UTF-8 is refused here (the head guard checked
  -- the target and the header fields). The body was read whole, so the
  -- connection stays open.
  if not text.is_utf8(body) then
    write_response(stream, method, api_error(400, "Request body is not valid UTF-8"))
    log_line(self, "%s %s -> 400 (body not valid UTF-8)", method, target)
    return
  end
  if body == "" and not headers["content-length"] and not headers["transfer-encoding"] then
    body = nil
  end

  local res = answer_or_500(self, self.state.handle, self.state, {
    method = method, path = path, query = query, headers = headers, body = body,
    connection = connection_id(self, stream.connection),
  })
  res = wait_for_answer(self, res, method, target)
  local fault = res.fault
  local shaped = fault and fault.action ~= "answer" and fault.action ~= "oversize"
    and shape_answer(stream, res, fault)
  if not shaped then write_response(stream, method, res) end
  if fault then
    log_line(self, "%s %s -> %d (fault %s: %s%s)", method, target, res.status, tostring(fault.id),
      shaped or fault.action, fault.committed and ", committed" or "")
  else
    log_line(self, "%s %s -> %d", method, target, res.status)
  end
end

-- `onstream`, with a sandbox bug in it answered 500 in the API's error
-- shape (lua-http would send an empty 503) when no answer was begun; the
-- connection is closed after it, as the request may be half read.
local function guarded_onstream(self, stream)
  local ok, err = pcall(onstream, self, stream)
  if ok then return end
  log_line(self, "request failed: %s", tostring(err))
  if stream.connection.socket and not stream.body_write_type
      and (stream.state == "open" or stream.state == "half closed (remote)") then
    write_response(stream, stream.req_method, api_error(500, "Sandbox internal error", { connection = "close" }))
  end
  close_lingering(stream)
end

-- Waits until `socket` has something to read (or its peer closed); false
-- when `seconds` pass first. Nothing is read: the bytes stay for lua-http.
local function readable(socket, seconds)
  local probe = {
    pollfd = function() return socket:pollfd() end,
    events = function() return "r" end,
    timeout = function() return nil end,
  }
  return cqueues.poll(probe, seconds) == probe
end

-- Lets every other coroutine of the controller run once before going on.
local function yield_to_others()
  if cqueues.running() then cqueues.sleep(0) end
end

local function read_all(path)
  local f, err = io.open(path, "rb")
  if not f then return nil, err end
  local s = f:read("a")
  f:close()
  return s
end

-- luaossl's messages may start with stray bytes; keep the readable part.
local function clean_message(e)
  return (tostring(e):gsub("[^\32-\126]", ""))
end

-- ALPN: offer HTTP/1.1 only (no h2: the fault shapes are HTTP/1.1 bytes).
local function alpn_select(_, protos)
  for _, proto in ipairs(protos) do
    if proto == "http/1.1" then return proto end
  end
  return nil
end

--- TLS server context from PEM files: `cert` (the certificate, optionally
-- followed by its chain) and `key` (its private key).
-- Returns the context, or nil and an error message.
function M.tls_context(tls)
  if type(tls) ~= "table" or type(tls.cert) ~= "string" or type(tls.key) ~= "string" then
    return nil, "tls needs cert and key (paths of PEM files)"
  end
  local cert_pem, err = read_all(tls.cert)
  if not cert_pem then return nil, "cannot read the TLS certificate: " .. tostring(err) end
  local key_pem
  key_pem, err = read_all(tls.key)
  if not key_pem then return nil, "cannot read the TLS key: " .. tostring(err) end
  local ok, ctx = pcall(function()
    local http_tls = require "http.tls"
    local x509 = require "openssl.x509"
    local pkey = require "openssl.pkey"
    local certs = {}
    for block in cert_pem:gmatch("%-%-%-%-%-BEGIN CERTIFICATE%-%-%-%-%-.-%-%-%-%-%-END CERTIFICATE%-%-%-%-%-") do
      certs[#certs + 1] = x509.new(block, "PEM")
    end
    if #certs == 0 then error("no PEM certificate in " .. tls.cert, 0) end
    local c = http_tls.new_server_context()
    assert(c:setCertificate(certs[1]))
    if #certs > 1 then
      local chain = require("openssl.x509.chain").new()
      for i = 2, #certs do chain:add(certs[i]) end
      assert(c:setCertificateChain(chain))
    end
    -- raises "key values mismatch" when the key is not the certificate's
    assert(c:setPrivateKey(pkey.new(key_pem, "PEM")))
    if http_tls.has_alpn then c:setAlpnSelect(alpn_select) end
    return c
  end)
  if not ok then return nil, "bad TLS certificate or key: " .. clean_message(ctx) end
  return ctx
end

--- Is `host` a loopback address? (proxyshard.wire.url's rule, the client's.)
M.is_loopback = require("proxyshard.wire.url").is_loopback

-- Why a non-loopback address is refused unless asked for.
M.REMOTE_RISK = "the control endpoints (/_sandbox/...) take no token: anyone who reaches"
  .. " the port can reset the state, read the request log and inject faults"

--- Start listening. opts: host (default "127.0.0.1"; anything but a
-- loopback address needs allow_remote = true), port (default 0 =
-- ephemeral), state (a proxyshard.sandbox.world.state object, required), log (a
-- file handle for one line per request, optional), tls (optional
-- { cert = PEM file, key = PEM file }: serve HTTPS instead of HTTP),
-- head_timeout and idle_timeout (seconds; default HEAD_TIMEOUT and
-- IDLE_TIMEOUT). Sets `state.pause` unless the state has one.
-- Returns the server object, or nil and an error message.
function M.start(opts)
  assert(opts and opts.state, "server.start needs opts.state")
  if not opts.allow_remote and not M.is_loopback(opts.host or "127.0.0.1") then
    return nil, ("%s is not a loopback address, and %s"):format(opts.host, M.REMOTE_RISK)
  end
  local self = setmetatable({
    host = opts.host or "127.0.0.1",
    state = opts.state,
    log = opts.log,
    cq = cqueues.new(),
    stopped = false,
    scheme = opts.tls and "https" or "http",
    connection_ids = setmetatable({}, { __mode = "k" }),
    connections = 0,
    head_timeout = opts.head_timeout or HEAD_TIMEOUT,
  }, Server)
  -- The state's long dumps (the request log) pause between pieces, so the
  -- other connections are served meanwhile; a state given its own way to
  -- pause keeps it.
  if self.state.pause == nil then self.state.pause = yield_to_others end
  local ctx
  if opts.tls then
    local err
    ctx, err = M.tls_context(opts.tls)
    if not ctx then return nil, err end
  end
  local srv, err = http_server.listen {
    host = self.host,
    port = opts.port or 0,
    reuseaddr = true,
    tls = ctx ~= nil,
    ctx = ctx,
    -- HTTP/1.1 only: no h2 by prior knowledge or ALPN.
    version = 1.1,
    intra_stream_timeout = opts.idle_timeout or IDLE_TIMEOUT,
    cq = self.cq,
    onstream = function(_, stream) return guarded_onstream(self, stream) end,
    -- The default handler raises, which would end the loop on any broken
    -- client connection; a sandbox should just log and keep serving.
    onerror = function(_, context, op, e)
      log_line(self, "%s on %s failed: %s", tostring(op), tostring(context), tostring(e))
    end,
  }
  if not srv then return nil, err end
  -- lua-http's idle timeout starts only after a connection's first request:
  -- one that sends nothing at all would be kept for ever. Such a connection
  -- is closed after the idle timeout here, before lua-http is given it.
  local idle, add_socket = opts.idle_timeout or IDLE_TIMEOUT, srv.add_socket
  srv.add_socket = function(http, socket)
    http.cq:wrap(function()
      if readable(socket, idle) then return add_socket(http, socket) end
      socket:close()
    end)
    return true
  end
  local ok, lerr = srv:listen()
  if not ok then return nil, lerr end
  self.http = srv
  local _, _, port = srv:localname()
  self.port = port
  return self
end

function Server:url()
  local host = self.host
  if host:find(":", 1, true) then host = "[" .. host .. "]" end
  return ("%s://%s:%d"):format(self.scheme, host, self.port)
end

--- Run `fn` as a coroutine in the server's controller (used by the command
-- line script to watch for signals next to the HTTP traffic).
function Server:wrap(fn)
  return self.cq:wrap(fn)
end

--- Serve until `stop` is called; then close the listening socket.
function Server:loop()
  while not self.stopped do
    self.step_started = cqueues.monotime()
    local ok, err = self.cq:step(STEP_TIMEOUT)
    self.step_started = nil
    if not ok then log_line(self, "controller error: %s", tostring(err)) end
  end
  if self.http then
    self.http:close()
    self.http = nil
  end
  return true
end

--- Seconds the controller step under way has taken so far (waiting for
-- events included, at most STEP_TIMEOUT of it), 0 between steps. A step
-- that goes on far longer is stuck in code that does not yield.
function Server:step_seconds()
  return self.step_started and cqueues.monotime() - self.step_started or 0
end

--- Ask `loop` to return. Safe to call from a handler or a wrapped coroutine.
function Server:stop()
  self.stopped = true
end

return M
