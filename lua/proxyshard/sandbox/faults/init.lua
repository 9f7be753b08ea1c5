--- Fault injection rules of the ProxyShard sandbox.
--
-- A rule says "the next N requests for METHOD PATH get a delay, a canned
-- answer, or a broken one". This module only stores rules and decides which
-- one a request hits; `proxyshard.sandbox.world.state` builds the answer and the
-- server carries out what cannot be a plain answer (a dropped connection, a
-- truncated body, a stalled one). Pure Lua, no I/O.
--
-- Rule fields (as sent to POST /_sandbox/faults, already JSON-decoded);
-- any other field is refused, so a typo does not silently weaken a test:
--   path          required, exact path without the query string
--   method        optional, any method when absent
--   status        optional; when present the canned answer replaces the
--                 real one, when absent the request is handled normally
--   body          optional string, the canned body (only with status)
--   content_type  optional, default "application/json" (only with status)
--   headers       optional object of extra response headers, name -> string
--                 value, passed through untouched (e.g. Retry-After)
--   delay_ms      optional, default 0: wait before writing anything (with
--                 commit "after_delay", before handling the request too)
--   times         optional, default 1; 0 means "forever"
--   action        optional, default "answer":
--                   "answer"   the canned answer when status is given, else
--                              the normal one
--                   "drop"     close the connection without answering
--                   "truncate" headers with the full Content-Length, then
--                              half of the body, then close
--                   "stall"    headers, then nothing for stall_ms, then close
--                   "oversize" 200 application/json, a body of `size` bytes
--   stall_ms      optional, default 30000 (only with action "stall")
--   size          optional, default 2 MiB (only with action "oversize")
--   commit        optional, default false:
--                   true       handle the request for real first (state
--                              changed, purchase charged), then wait
--                              delay_ms, then shape the answer
--                   false      a rule with a status or an action other than
--                              "answer" leaves the state alone
--                   "after_delay"  wait delay_ms (which must be > 0) first,
--                              then handle the request for real, whether or
--                              not the client is still connected, then shape
--                              the answer: a charge that lands after a client
--                              with a shorter timeout gave up. A reset during
--                              the wait cancels it (nothing is handled).
--   huge_headers  optional integer N, default 0: add N bytes of junk header
--                 values (X-Pad-1, X-Pad-2, ... of up to 1000 bytes each)

local Faults = {}
Faults.__index = Faults

-- Body used when a rule sets a status but no body: same shape as the API's
-- own errors, so clients take their normal error path.
local DEFAULT_BODY = '{"success":false,"message":"Sandbox injected fault"}'
local DEFAULT_CONTENT_TYPE = "application/json"
local DEFAULT_STALL_MS = 30000
local DEFAULT_SIZE = 2 * 1024 * 1024
local MAX_SIZE = 256 * 1024 * 1024
local MAX_HUGE_HEADERS = 16 * 1024 * 1024
local MAX_MS = 600000
-- Spent rules kept for GET /_sandbox/faults; the oldest go first.
local SPENT_MAX = 1000

local ACTIONS = { answer = true, drop = true, truncate = true, stall = true, oversize = true }
local ACTION_LIST = "answer, drop, truncate, stall, oversize"

local KNOWN_FIELDS = {
  path = true, method = true, status = true, body = true, content_type = true,
  headers = true, delay_ms = true, times = true, action = true, stall_ms = true,
  size = true, commit = true, huge_headers = true,
}

-- Headers the sandbox computes itself: a rule may not override the framing.
local RESERVED_HEADERS = { ["content-length"] = true, ["transfer-encoding"] = true }

Faults.DEFAULT_STALL_MS = DEFAULT_STALL_MS
-- The `commit` value of a rule whose real handling waits for its delay.
Faults.COMMIT_AFTER_DELAY = "after_delay"
Faults.DEFAULT_SIZE = DEFAULT_SIZE

function Faults.new()
  return setmetatable({ rules = {}, spent = {}, next_id = 1 }, Faults)
end

local function copy_rule(rule)
  local out = {}
  for k, v in pairs(rule) do
    if type(v) == "table" then
      local t = {}
      for hk, hv in pairs(v) do t[hk] = hv end
      v = t
    end
    out[k] = v
  end
  return out
end

-- JSON numbers may arrive as floats (cjson on 5.4 decodes 3 as 3.0), so
-- accept any number with an integral value.
local function int_field(spec, name, default, min, max)
  local v = spec[name]
  if v == nil then return default end
  local n = type(v) == "number" and math.tointeger(v) or nil
  if n == nil then return nil, name .. " must be an integer" end
  if n < min or (max and n > max) then
    return nil, name .. " must be between " .. min .. " and " .. (max or "any")
  end
  return n
end

local function string_field(spec, name)
  local v = spec[name]
  if v ~= nil and type(v) ~= "string" then
    return nil, name .. " must be a string"
  end
  return v or false
end

-- headers: an object of strings. Names are HTTP tokens, values carry no
-- control characters except tab (no header injection through a rule).
local function headers_field(spec)
  local h = spec.headers
  if h == nil then return nil end
  if type(h) ~= "table" then return nil, "headers must be an object of strings" end
  local out = {}
  for name, value in pairs(h) do
    if type(name) ~= "string" then return nil, "headers must be an object of strings" end
    if not name:match("^[%w!#$%%&'*+.^_`|~-]+$") then
      return nil, "headers: invalid header name " .. string.format("%q", name)
    end
    if RESERVED_HEADERS[name:lower()] then
      return nil, "headers: " .. name .. " is set by the sandbox and cannot be overridden"
    end
    if type(value) ~= "string" then
      return nil, "headers: the value of " .. name .. " must be a string"
    end
    if value:find("[%z\1-\8\10-\31\127]") then
      return nil, "headers: the value of " .. name .. " contains a control character"
    end
    out[name] = value
  end
  return out
end

--- Validate and store a rule. Returns a copy of the stored rule, or nil and
-- an error message.
function Faults:add(spec)
  if type(spec) ~= "table" then return nil, "fault must be a JSON object" end
  local unknown = {}
  for k in pairs(spec) do
    if not KNOWN_FIELDS[k] then unknown[#unknown + 1] = tostring(k) end
  end
  if #unknown > 0 then
    table.sort(unknown)
    return nil, "unknown field(s): " .. table.concat(unknown, ", ")
  end
  local path, err = string_field(spec, "path")
  if not path then return nil, err or "path is required" end
  if path:sub(1, 1) ~= "/" then return nil, "path must start with /" end
  local method
  method, err = string_field(spec, "method")
  if err then return nil, err end
  local body
  body, err = string_field(spec, "body")
  if err then return nil, err end
  local content_type
  content_type, err = string_field(spec, "content_type")
  if err then return nil, err end
  local status
  status, err = int_field(spec, "status", nil, 100, 599)
  if err then return nil, err end
  local delay_ms
  delay_ms, err = int_field(spec, "delay_ms", 0, 0, MAX_MS)
  if err then return nil, err end
  local times
  times, err = int_field(spec, "times", 1, 0)
  if err then return nil, err end

  local action = spec.action
  if action == nil then action = "answer" end
  if type(action) ~= "string" or not ACTIONS[action] then
    return nil, "action must be one of " .. ACTION_LIST
  end
  local commit = spec.commit
  if commit == nil then commit = false end
  if type(commit) ~= "boolean" and commit ~= Faults.COMMIT_AFTER_DELAY then
    return nil, 'commit must be true, false or "after_delay"'
  end
  if commit == Faults.COMMIT_AFTER_DELAY and delay_ms == 0 then
    return nil, 'commit "after_delay" needs a delay_ms above 0'
  end
  local stall_ms
  stall_ms, err = int_field(spec, "stall_ms", DEFAULT_STALL_MS, 0, MAX_MS)
  if err then return nil, err end
  if spec.stall_ms ~= nil and action ~= "stall" then
    return nil, "stall_ms only applies to action \"stall\""
  end
  local size
  size, err = int_field(spec, "size", DEFAULT_SIZE, 0, MAX_SIZE)
  if err then return nil, err end
  if spec.size ~= nil and action ~= "oversize" then
    return nil, "size only applies to action \"oversize\""
  end
  local huge_headers
  huge_headers, err = int_field(spec, "huge_headers", 0, 0, MAX_HUGE_HEADERS)
  if err then return nil, err end
  local headers
  headers, err = headers_field(spec)
  if err then return nil, err end

  local rule = {
    id = self.next_id,
    method = method and method:upper() or nil,
    path = path,
    status = status,
    body = status and (body or DEFAULT_BODY) or nil,
    content_type = status and (content_type or DEFAULT_CONTENT_TYPE) or nil,
    headers = headers,
    delay_ms = delay_ms,
    times = times,   -- remaining uses; 0 = unlimited
    action = action,
    commit = commit,
    stall_ms = action == "stall" and stall_ms or nil,
    size = action == "oversize" and size or nil,
    huge_headers = huge_headers,
    hits = 0,
  }
  self.next_id = self.next_id + 1
  self.rules[#self.rules + 1] = rule
  return copy_rule(rule)
end

function Faults:clear()
  self.rules = {}
  self.spent = {}
end

--- Find the first rule (oldest first) for this request and use it up once.
-- Returns a copy of the rule as it was applied, or nil. A rule whose uses
-- are over moves to the `spent` list, which keeps its hit count.
function Faults:take(method, path)
  for i, rule in ipairs(self.rules) do
    if rule.path == path and (rule.method == nil or rule.method == method) then
      rule.hits = rule.hits + 1
      if rule.times > 0 then
        rule.times = rule.times - 1
        if rule.times == 0 then
          table.remove(self.rules, i)
          self.spent[#self.spent + 1] = rule
          if #self.spent > SPENT_MAX then table.remove(self.spent, 1) end
        end
      end
      return copy_rule(rule)
    end
  end
  return nil
end

--- Copies of the rules still active, oldest first.
function Faults:list()
  local out = {}
  for i, rule in ipairs(self.rules) do out[i] = copy_rule(rule) end
  return out
end

--- Copies of the rules whose uses are over (`times` reached 0), oldest
-- first; their `hits` say how often they fired.
function Faults:list_spent()
  local out = {}
  for i, rule in ipairs(self.spent) do out[i] = copy_rule(rule) end
  return out
end

return Faults
