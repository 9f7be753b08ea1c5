--- HTTP/1.1 front end of the ProxyShard sandbox, over lua-http + cqueues.
--
--   local server = require "proxyshard.sandbox.server"
--   local srv = assert(server.start{ host = "127.0.0.1", port = 0, state = sb,
--                                    log = io.stderr })
--   print(srv:url())   -- http://127.0.0.1:PORT
--   srv:loop()         -- until srv:stop() is called from inside the loop
--
-- All the API logic lives in `proxyshard.sandbox.state`; this file only
-- turns HTTP requests into `state:handle` calls and back. Every answer
-- carries Content-Length so HTTP/1.1 keep-alive works, and fault delays use
-- cqueues.sleep, which parks only the current stream's coroutine.

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
local cqueues = require "cqueues"

local M = {}

local Server = {}
Server.__index = Server

-- Seconds to wait for a client to send its headers and body.
local READ_TIMEOUT = 30
-- Upper bound of one controller step, so `loop` notices `stop` even when the
-- call came from outside the controller.
local STEP_TIMEOUT = 0.5

local function log_line(self, fmt, ...)
  if self.log then
    self.log:write(os.date("!%Y-%m-%dT%H:%M:%SZ "), fmt:format(...), "\n")
    if self.log.flush then self.log:flush() end
  end
end

local function write_response(stream, method, res)
  local body = res.body or ""
  local h = http_headers.new()
  h:append(":status", tostring(res.status))
  for name, value in pairs(res.headers or {}) do
    h:append(string.lower(name), tostring(value))
  end
  h:upsert("content-length", tostring(#body))
  if method == "HEAD" or #body == 0 then
    return stream:write_headers(h, true)
  end
  local ok, err = stream:write_headers(h, false)
  if not ok then return nil, err end
  return stream:write_chunk(body, true)
end

local function onstream(self, stream)
  local req_headers = stream:get_headers(READ_TIMEOUT)
  if not req_headers then return end
  local method = req_headers:get(":method") or "GET"
  local target = req_headers:get(":path") or "/"
  local path, query = target:match("^([^?]*)%?(.*)$")
  if not path then path = target end

  local headers = {}
  for name, value in req_headers:each() do
    if name:sub(1, 1) ~= ":" then
      -- Repeated headers are folded the usual way.
      headers[name] = headers[name] and (headers[name] .. ", " .. value) or value
    end
  end

  -- Answer "Expect: 100-continue" (curl sends it for bodies over 1 KiB),
  -- otherwise the client waits a second before sending the body.
  if headers.expect and headers.expect:lower() == "100-continue"
      and stream.peer_version ~= 1.0 then
    local cont = http_headers.new()
    cont:append(":status", "100")
    stream:write_headers(cont, false)
  end

  local body = stream:get_body_as_string(READ_TIMEOUT)
  if body == nil then return end -- client went away or timed out
  if body == "" and not headers["content-length"] and not headers["transfer-encoding"] then
    body = nil
  end

  local ok, res = pcall(self.state.handle, self.state, {
    method = method, path = path, query = query, headers = headers, body = body,
  })
  if not ok then
    log_line(self, "handler error: %s", tostring(res))
    res = {
      status = 500,
      headers = { ["content-type"] = "application/json" },
      body = '{"success":false,"message":"Sandbox internal error"}',
    }
  end
  if res.delay and res.delay > 0 then cqueues.sleep(res.delay) end
  write_response(stream, method, res)
  log_line(self, "%s %s -> %d", method, target, res.status)
end

--- Start listening. opts: host (default "127.0.0.1"), port (default 0 =
-- ephemeral), state (a proxyshard.sandbox.state object, required), log (a
-- file handle for one line per request, optional).
-- Returns the server object, or nil and an error message.
function M.start(opts)
  assert(opts and opts.state, "server.start needs opts.state")
  local self = setmetatable({
    host = opts.host or "127.0.0.1",
    state = opts.state,
    log = opts.log,
    cq = cqueues.new(),
    stopped = false,
  }, Server)
  local srv, err = http_server.listen {
    host = self.host,
    port = opts.port or 0,
    reuseaddr = true,
    tls = false,
    cq = self.cq,
    onstream = function(_, stream) return onstream(self, stream) end,
    -- The default handler raises, which would end the loop on any broken
    -- client connection; a sandbox should just log and keep serving.
    onerror = function(_, context, op, e)
      log_line(self, "%s on %s failed: %s", tostring(op), tostring(context), tostring(e))
    end,
  }
  if not srv then return nil, err end
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
  return ("http://%s:%d"):format(host, self.port)
end

--- Run `fn` as a coroutine in the server's controller (used by the command
-- line script to watch for signals next to the HTTP traffic).
function Server:wrap(fn)
  return self.cq:wrap(fn)
end

--- Serve until `stop` is called; then close the listening socket.
function Server:loop()
  while not self.stopped do
    local ok, err = self.cq:step(STEP_TIMEOUT)
    if not ok then log_line(self, "controller error: %s", tostring(err)) end
  end
  if self.http then
    self.http:close()
    self.http = nil
  end
  return true
end

--- Ask `loop` to return. Safe to call from a handler or a wrapped coroutine.
function Server:stop()
  self.stopped = true
end

return M
