--- A transport for nginx over lua-resty-http 0.17 (`require "resty.http"`,
-- which needs lua-resty-string), on cosockets: non-blocking, with nginx's
-- connection pool for keep-alive. See docs/transport.md for the contract:
-- one attempt (connect, TLS, send, status, headers, body) ends within
-- req.timeout.
--
-- It drives lua-resty-http's streaming API (connect, send_request,
-- read_response, the body reader), not request_uri, because:
--   * a cosocket timeout is an idle timeout, re-armed by every byte that
--     arrives: a server dripping a byte now and then holds one receive for
--     ever. So the attempt runs in a light thread, killed at the deadline
--     (which aborts the pending socket operation and closes the
--     connection). The socket timeouts are still cut to the time left
--     before each step, so a plain stall ends with the socket's "timeout".
--   * lua-resty-http hands a 1xx (103 Early Hints, an unasked-for 100) over
--     as if it were the answer, and leaves the real one unread on the
--     connection; we read on to the final answer.
--   * request_uri reads the whole body before its size can be checked; we
--     stream it and stop one byte past max_response_bytes.
--   * the connection goes back to the pool only after an answer read to
--     its end; set_keepalive refuses one with bytes left in its buffer, and
--     that one, like every other, is closed.
-- It never sends a request twice: lua-resty-http has no retry of its own.
--
-- TLS: verification is on (ssl_verify = true); nginx checks the chain
-- against `lua_ssl_trusted_certificate`, so the client's ca_file option
-- does not apply here.
local normalize_headers = require "proxyshard.transport.headers"
local settings = require "proxyshard.check.settings"

local ngx = ngx -- luacheck: ignore (the nginx global)

local setmetatable = setmetatable
local ipairs = ipairs
local type = type
local tonumber = tonumber
local tostring = tostring
local error = error
local find = string.find
local match = string.match
local format = string.format
local concat = table.concat
local floor = math.floor
local min = math.min
local max = math.max

local M = {}

-- The phases where both cosockets and light threads work.
M.PHASES = { rewrite = true, access = true, content = true, timer = true,
  ssl_cert = true, ssl_session_fetch = true, ssl_client_hello = true }

-- Body bytes asked of the reader at a time.
local CHUNK = 65536

-- lua-resty-http refuses a POST, PUT or PATCH without a body.
local NEEDS_BODY = { POST = true, PUT = true, PATCH = true }

local Transport = { __name = "proxyshard.transport.resty_http" }
Transport.__index = Transport

--- The lua-resty-http module, or nil when it is not installed.
function M.library()
  local ok, http = pcall(require, "resty.http")
  if ok and type(http) == "table" and type(http.new) == "function" then return http end
  return nil
end

--- opts: keepalive_timeout (ms), keepalive_pool (connections), both by
-- default the client's defaults (proxyshard.check.settings.DEFAULTS),
-- max_response_bytes.
function M.new(opts)
  local http = M.library()
  if not http then
    error("proxyshard: transport \"resty\" needs lua-resty-http (require \"resty.http\" failed; "
      .. "it needs lua-resty-string too)", 3)
  end
  return setmetatable({
    http = http,
    keepalive_timeout = opts.keepalive_timeout or settings.DEFAULTS.keepalive_timeout * 1000,
    keepalive_pool = opts.keepalive_pool or settings.DEFAULTS.keepalive_pool,
    max_response_bytes = opts.max_response_bytes,
  }, Transport)
end

local function now()
  ngx.update_time()
  return ngx.now()
end

-- Cosocket timeouts are whole milliseconds, and 0 would mean nginx's
-- lua_socket_*_timeout default: never less than 1.
local function ms(seconds)
  local n = floor(seconds * 1000)
  return n < 1 and 1 or n
end

local WHILE = { connect = "while connecting", send = "while sending the request",
  read = "while reading the answer" }

local function timed_out(state, timeout)
  return { kind = "timeout", request_sent = state.stage ~= "connect",
    message = format("no complete answer within timeout = %.3g s (%s)", timeout, WHILE[state.stage]) }
end

-- lua-resty-http reports failures as the socket's text. Before anything
-- was sent (connect, TLS handshake) the request provably never left.
local function failure(err, stage)
  err = tostring(err or "unknown error")
  if err == "timeout" then
    return { kind = "timeout", message = "timeout " .. WHILE[stage], request_sent = stage ~= "connect" }
  end
  if stage == "connect" then
    -- sslhandshake's errors: "handshake failed", "certificate host
    -- mismatch", "<n>: <verification error>"
    if find(err, "handshake", 1, true) or find(err, "certificate", 1, true) or match(err, "^%d+: ") then
      return { kind = "tls", message = "TLS: " .. err, request_sent = false }
    end
    return { kind = "network", message = err .. " " .. WHILE[stage], request_sent = false,
      resolve_failed = find(err, "resolve", 1, true) and true or nil }
  end
  return { kind = "network", message = err .. " " .. WHILE[stage], request_sent = true }
end

local function too_large(cap, what)
  return { kind = "too_large", request_sent = true,
    message = format("the answer is larger than max_response_bytes (%d)%s", cap, what or "") }
end

-- req.headers ({ "Name: value", ... }) as lua-resty-http takes them, by
-- name. The client hands the same few arrays to every request (made once
-- per client), so each is read once: an array must not change after it
-- was sent (send_request copies what it is given).
local header_maps = setmetatable({}, { __mode = "k" })

local function header_map(lines)
  local headers = header_maps[lines]
  if headers then return headers end
  headers = {}
  for _, line in ipairs(lines) do
    local name, value = match(line, "^([^:]+):%s*(.*)$")
    if name then headers[name] = value end
  end
  header_maps[lines] = headers
  return headers
end

-- One attempt, in its own light thread; `state.stage` tells the watchdog
-- how far it got. Every way out but a clean end closes the connection.
local function attempt(self, httpc, req, target, deadline, state)
  -- the socket timeouts: the time left (to connect: connect_timeout at most)
  local function arm(connect_timeout)
    local left = deadline - now()
    if left <= 0 then return false end
    local t = ms(left)
    httpc:set_timeouts(connect_timeout and ms(min(connect_timeout, left)) or t, t, t)
    return true
  end
  local function fail(terr)
    httpc:close()
    return nil, terr
  end

  state.stage = "connect"
  if not arm(req.connect_timeout or req.timeout) then return fail(timed_out(state, req.timeout)) end
  local ok, err = httpc:connect {
    scheme = target[1], host = target[2], port = target[3],
    ssl_server_name = target[2], ssl_verify = true,
    pool_size = self.keepalive_pool,
  }
  if not ok then return fail(failure(err, "connect")) end
  state.reused = (httpc:get_reused_times() or 0) > 0

  -- out of time here, nothing has left yet
  if not arm() then return fail(timed_out(state, req.timeout)) end
  state.stage = "send"
  local params = { method = req.method, path = target[4], headers = header_map(req.headers),
    body = req.body or (NEEDS_BODY[req.method] and "" or nil) }
  ok, err = httpc:send_request(params)
  if not ok then return fail(failure(err, "send")) end

  state.stage = "read"
  local res
  repeat -- past any 1xx to the final answer (101 is one: it ends HTTP here)
    if not arm() then return fail(timed_out(state, req.timeout)) end
    res, err = httpc:read_response(params)
    if not res then return fail(failure(err, "read")) end
  until res.status >= 200 or res.status == 101

  local raw = res.headers
  local parts, got = {}, 0
  local cap = self.max_response_bytes
  local reusable = res.status ~= 101
  if res.has_body then
    local chunked = self.http.transfer_encoding_is_chunked(raw)
    local length = type(raw["Content-Length"]) == "string" and tonumber(raw["Content-Length"]) or nil
    -- neither: the answer ends at the close (lua-resty-http does the same)
    local delimited = chunked or length ~= nil
    if cap and not chunked and length and length > cap then
      return fail(too_large(cap, format(": Content-Length %d", length)))
    end
    local reader, closed = res.body_reader, false
    while true do
      if not arm() then return fail(timed_out(state, req.timeout)) end
      local chunk, rerr = reader(cap and min(CHUNK, cap - got + 1) or CHUNK)
      if rerr and not (rerr == "closed" and not delimited) then return fail(failure(rerr, "read")) end
      if chunk then
        got = got + #chunk
        if cap and got > cap then return fail(too_large(cap)) end
        parts[#parts + 1] = chunk
      end
      if rerr then
        closed = true -- the end of an answer delimited by the close
      elseif not chunk then
        break
      end
    end
    -- lua-resty-http's reader for an answer ending at the close turns any
    -- other error (a timeout) into a plain end: only "closed" is one
    if not delimited and not closed then return fail(failure("timeout", "read")) end
    reusable = reusable and delimited
  end

  if reusable then
    -- it refuses ("unread data in buffer") when anything follows the
    -- answer, and closes by itself after "Connection: close"
    if not httpc:set_keepalive(self.keepalive_timeout, self.keepalive_pool) then httpc:close() end
  else
    httpc:close()
  end
  return { status = res.status, headers = normalize_headers(raw), body = concat(parts),
    reused = state.reused }
end

-- Each URL's parts (scheme, host, port, path with the query), as
-- lua-resty-http's parse_uri gives them (a regular expression; the
-- instance plays no part for a URL with a scheme, as the client's all
-- have): a call after call to the same few URLs reads each once. At most
-- KEPT, then it starts over; the parts are only read.
local KEPT = 256
local targets, kept = {}, 0

-- The light thread's body: a marker tells its results from the watchdog's.
local function run(...)
  return "done", attempt(...)
end

-- The watchdog's (ngx.thread.spawn takes only a Lua function).
local function sleep(seconds)
  ngx.sleep(seconds)
end

function Transport:request(req)
  local started = now()
  local deadline = started + req.timeout
  local httpc, err = self.http.new()
  if not httpc then
    return nil, { kind = "network", message = "lua-resty-http: " .. tostring(err), request_sent = false }
  end
  local target = targets[req.url]
  if not target then
    local perr
    target, perr = httpc:parse_uri(req.url)
    if not target then error("proxyshard: bad req.url: " .. tostring(perr), 2) end
    if kept >= KEPT then targets, kept = {}, 0 end
    targets[req.url], kept = target, kept + 1
  end

  local state = { stage = "connect" }
  local thread = ngx.thread
  local worker = thread.spawn(run, self, httpc, req, target, deadline, state)
  local watchdog = thread.spawn(sleep, max(deadline - now(), 0.001))
  local ok, done, res, terr = thread.wait(worker, watchdog)
  if done == "done" then
    thread.kill(watchdog)
    if res then res.total_time = now() - started end
    return res, terr
  end
  if not ok then -- the worker raised: a programmer error, passed on
    thread.kill(watchdog)
    httpc:close()
    error(done, 0)
  end
  -- the deadline: killing the worker aborts its socket operation, and
  -- nginx closes that connection
  thread.kill(worker)
  httpc:close()
  return nil, timed_out(state, req.timeout)
end

function Transport.close() end

return M
