--- Reading Stoplight Prism's log (its standard output, in a file) as it
-- grows: one block per request Prism received, with the violations it
-- logged for it. Prism logs a request's lines in order, and a block's
-- last lines (the violations, "Request terminated with error") right
-- after it answers; `sync` sends a marker request (a path the document
-- does not have) and waits for it to show, so that every line of the
-- requests before it is in the file. Marker blocks are dropped.
local core = require "proxyshard.core"

local M = {}

local Reader = {}
Reader.__index = Reader

local MARK = "/prism-driver-mark/"

--- A reader of the log at `path` from its current end, for the Prism at `url`.
function M.open(path, url)
  local f = assert(io.open(path, "r"))
  f:seek("end")
  return setmetatable({ f = f, url = url, partial = "", done = {}, current = nil, marks = 0,
    session = core.session { timeout_ms = 10000 } }, Reader)
end

-- Prism's problem types that say a request broke the document (the
-- others, such as an upstream that failed, are errors of their own).
local REQUEST_PROBLEMS = { UNPROCESSABLE_ENTITY = true, UNAUTHORIZED = true, INVALID_CONTENT_TYPE = true,
  NOT_ACCEPTABLE = true, NO_METHOD_MATCHED_ERROR = true, NO_PATH_MATCHED_ERROR = true }

function Reader:line(line)
  local method, path = line:match("%[HTTP SERVER%] (%a+) (%S+) .-Request received$")
  if method then
    self.current = { method = method:upper(), path = path, request = {}, response = {}, errors = {},
      mark = path:sub(1, #MARK) == MARK }
    self.done[#self.done + 1] = self.current
    return
  end
  local b = self.current
  if not b then return end
  local where, message = line:match("%] ✖  error     Violation: (%S+) (.*)$")
  if not where then where, message = line:match("%] ⚠  warning   Violation: (%S+) (.*)$") end
  if where then
    local list = where:find("^response") and b.response or b.request
    list[#list + 1] = where .. ": " .. message
    return
  end
  local problem = line:match("Request terminated with error: (.*)$")
  if problem then
    -- with --errors, Prism answers a response violation with a problem
    -- "VIOLATIONS" instead of logging each one: the caller has the details
    local kind = problem:match("#([%u_]+)")
    if kind == "VIOLATIONS" then
      b.response[#b.response + 1] = problem
    elseif REQUEST_PROBLEMS[kind] then
      b.request[#b.request + 1] = problem
    else
      b.errors[#b.errors + 1] = problem
    end
  end
end

function Reader:read()
  local data = self.f:read("a") or ""
  local text = self.partial .. data
  local last = 1
  for line, stop in text:gmatch("([^\n]*)\n()") do
    self:line(line)
    last = stop
  end
  self.partial = text:sub(last)
end

--- Every request block since the last call (marker blocks left out).
function Reader:blocks()
  self.marks = self.marks + 1
  local mark = MARK .. self.marks
  self.session:perform { method = "GET", url = self.url .. mark }
  local deadline = os.time() + 10
  repeat
    self:read()
    local c = self.current
    if c and c.path == mark then break end
    core.sleep(0.005)
  until os.time() > deadline
  local out = {}
  for _, b in ipairs(self.done) do
    if not b.mark then out[#out + 1] = b end
  end
  -- the last block (the marker) stays current: its late lines land on it
  self.done = {}
  return out
end

function M.close(reader)
  reader.session:close()
  reader.f:close()
end

return M
