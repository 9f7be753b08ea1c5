--- The sandbox's request head guard: reads one request head (request line
-- and header fields) off a connection's socket itself, checks it, and puts
-- it back for lua-http to parse only when it is sound.
--
--   local head, status, message = head_guard.read(socket, seconds)
--   -- head: { method, target, version = "1.1", fields = n, bytes = n }
--   -- nil, status, message: refuse with that status (the API's error shape)
--   -- nil, nil, why: the client went away; nothing to answer
--
-- Why: Debian's lua-http, which is not ours to patch, trusts the head more
-- than it should. A Content-Length it cannot read ("abc", "1e3") or a
-- Transfer-Encoding it does not know leaves its stream with headers but no
-- body framing, and the stream's shutdown then loops without yielding:
-- 100% CPU, no other connection served, SIGTERM never seen. Too many
-- header fields, or one it cannot parse, get an empty 503 or 400; a
-- request line longer than the socket's 4 KiB line buffer is dropped
-- without a word. Here each of those is refused before lua-http reads a
-- byte of it.
--
-- A sound head (RFC 9112, within the sandbox's bounds):
--   * arrives whole within `seconds` of its first byte (else 408);
--   * request line `METHOD SP target SP HTTP/1.x CRLF`, at most 4096 bytes
--     before its CRLF (else 414); the method letters and digits (what
--     lua-http reads); HTTP/1.0 or HTTP/1.1 (else 505); one empty line
--     before it is skipped, as lua-http does;
--   * at most 64 header fields, and 16 KiB for the whole head (else 400:
--     431 would be the finer status, but the API answers any request it
--     will not take with 400, which is what its clients handle);
--   * each field `name ":" OWS value OWS CRLF`: the name a token, the value
--     without control bytes other than tab; no line folding;
--   * the target and the values valid UTF-8, the target also once its %XX
--     escapes are decoded: what a request carries is echoed in answers and
--     kept in the request log, which are JSON;
--   * body framing lua-http reads without fault: Content-Length once,
--     decimal digits only; Transfer-Encoding "chunked", or one of gzip,
--     x-gzip, deflate then "chunked"; never both; no Transfer-Encoding in
--     HTTP/1.0 (RFC 9112 6.1: its framing cannot be trusted).
-- Lines end with CRLF; a bare LF is refused like any malformed line.
local cqueues = require "cqueues"
local ce = require "cqueues.errno"
local text = require "proxyshard.sandbox.text"

local monotime = cqueues.monotime
local concat = table.concat

local M = {}

M.MAX_REQUEST_LINE = 4096
M.MAX_HEAD_BYTES = 16 * 1024
M.MAX_FIELDS = 64

-- A token (RFC 9110 5.6.2): the characters a field name may have.
local TOKEN = "^[!#$%%&'*+%-.^_`|~%w]+$"
-- Control bytes: never in a target, only tab in a field value.
local CONTROL = "[%z\1-\31\127]"
local CONTROL_BUT_TAB = "[%z\1-\8\10-\31\127]"
local COMPRESSION = { gzip = true, ["x-gzip"] = true, deflate = true }

local function percent_decoded(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

--- The request line's parts, or nil, status, message.
function M.request_line(line)
  local method, target, version = line:match("^(%w+) (%S+) HTTP/(%d%.%d)\r\n$")
  if not method then return nil, 400, "Malformed request line" end
  if version ~= "1.1" and version ~= "1.0" then
    return nil, 505, "HTTP version not supported: the sandbox speaks HTTP/1.1"
  end
  if target:find(CONTROL) then return nil, 400, "Control characters in the request target" end
  if not text.is_utf8(target) or not text.is_utf8(percent_decoded(target)) then
    return nil, 400, "The request target is not valid UTF-8"
  end
  return method, target, version
end

--- A header field's lower-case name and its value, or nil, status, message.
function M.field_line(line)
  local name, value = line:match("^([^:]*):[ \t]*(.-)[ \t]*\r\n$")
  if not name or not name:find(TOKEN) then return nil, 400, "Malformed header field" end
  if value:find(CONTROL_BUT_TAB) then return nil, 400, "Control characters in a header field value" end
  if not text.is_utf8(value) then return nil, 400, "A header field value is not valid UTF-8" end
  return name:lower(), value
end

-- The codings of a Transfer-Encoding, lower case, in order.
local function codings(values)
  local out = {}
  for part in (concat(values, ",") .. ","):gmatch("([^,]*),") do
    out[#out + 1] = part:match("^[ \t]*(.-)[ \t]*$"):lower()
  end
  return out
end

--- Checks the body framing of a whole head: `fields` maps lower-case names
-- to the list of their values. true, or nil, status, message.
function M.framing(fields, version)
  local length, coding = fields["content-length"], fields["transfer-encoding"]
  if length then
    if #length > 1 then return nil, 400, "More than one Content-Length" end
    if not length[1]:find("^%d+$") then return nil, 400, "Invalid Content-Length: not a number of bytes" end
  end
  if coding then
    if version == "1.0" then return nil, 400, "Transfer-Encoding in an HTTP/1.0 request" end
    if length then return nil, 400, "Both Content-Length and Transfer-Encoding" end
    local list = codings(coding)
    local n = #list
    if list[n] ~= "chunked" or n > 2 or (n == 2 and not COMPRESSION[list[1]]) then
      return nil, 400, "Unsupported Transfer-Encoding: the sandbox takes chunked, after gzip or deflate at most"
    end
  end
  return true
end

-- The next line (CRLF included) within the deadline, or nil, why, errno.
-- Errors come back as values: lua-http's connection sets the socket's
-- error handler, which also clears a timeout so the next read can wait.
local function next_line(sock, deadline)
  local left = deadline - monotime()
  if left <= 0 then return nil, "timeout", ce.ETIMEDOUT end
  return sock:xread("*L", left)
end

--- Reads, checks and puts back one request head; see the module comment.
function M.read(sock, seconds)
  local deadline = monotime() + seconds
  -- a line longer than this comes back in pieces, which the bounds refuse
  sock:setmaxline(M.MAX_HEAD_BYTES)
  local lines, bytes, fields = {}, 0, {}
  local method, target, version
  local count = 0
  while true do
    local line, why, errno = next_line(sock, deadline)
    if line == nil then
      if errno == ce.ETIMEDOUT then return nil, 408, "Request head not received in time" end
      if why == nil and #lines > 0 then return nil, 400, "Incomplete request head" end -- EOF
      return nil, nil, why or "closed"
    end
    lines[#lines + 1] = line
    bytes = bytes + #line
    local whole = line:sub(-1) == "\n"
    if not whole and #line < M.MAX_HEAD_BYTES then return nil, 400, "Incomplete request head" end -- EOF
    if not method then
      if line ~= "\r\n" or #lines > 1 then
        if not whole or #line - 2 > M.MAX_REQUEST_LINE then
          return nil, 414, ("Request line too long: the sandbox takes at most %d bytes"):format(M.MAX_REQUEST_LINE)
        end
        local parts = { M.request_line(line) }
        if not parts[1] then return nil, parts[2], parts[3] end
        method, target, version = parts[1], parts[2], parts[3]
      end
    elseif line == "\r\n" then
      break
    else
      if bytes > M.MAX_HEAD_BYTES then
        return nil, 400, ("Request head too large: the sandbox takes at most %d bytes"):format(M.MAX_HEAD_BYTES)
      end
      count = count + 1
      if count > M.MAX_FIELDS then
        return nil, 400, ("Too many header fields: the sandbox takes at most %d"):format(M.MAX_FIELDS)
      end
      local name, value, message = M.field_line(line)
      if not name then return nil, value, message end
      local list = fields[name]
      if not list then
        list = {}
        fields[name] = list
      end
      list[#list + 1] = value
    end
  end
  local ok, status, message = M.framing(fields, version)
  if not ok then return nil, status, message end
  local put_back, errno = sock:unget(concat(lines))
  if not put_back then return nil, nil, ce.strerror(errno) end
  return { method = method, target = target, version = version, fields = count, bytes = bytes }
end

return M
