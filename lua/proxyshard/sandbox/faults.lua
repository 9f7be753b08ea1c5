--- Fault injection rules of the ProxyShard sandbox.
--
-- A rule says "the next N requests for METHOD PATH get a delay and/or a
-- canned answer". This module only stores rules and decides which one a
-- request hits; `proxyshard.sandbox.state` builds the answer and the server
-- does the sleeping. Pure Lua, no I/O, so it can grow (the rule format is
-- meant to be extended) without touching the HTTP side.
--
-- Rule fields (as sent to POST /_sandbox/faults, already JSON-decoded):
--   path          required, exact path without the query string
--   method        optional, any method when absent
--   status        optional; when present the canned answer replaces the
--                 real handling, when absent the request is handled normally
--   body          optional string, the canned body
--   content_type  optional, default "application/json"
--   delay_ms      optional, default 0
--   times         optional, default 1; 0 means "forever"

local Faults = {}
Faults.__index = Faults

-- Body used when a rule sets a status but no body: same shape as the API's
-- own errors, so clients take their normal error path.
local DEFAULT_BODY = '{"success":false,"message":"Sandbox injected fault"}'
local DEFAULT_CONTENT_TYPE = "application/json"

function Faults.new()
  return setmetatable({ rules = {}, next_id = 1 }, Faults)
end

local function copy_rule(rule)
  local out = {}
  for k, v in pairs(rule) do out[k] = v end
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

--- Validate and store a rule. Returns a copy of the stored rule, or nil and
-- an error message.
function Faults:add(spec)
  if type(spec) ~= "table" then return nil, "fault must be a JSON object" end
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
  delay_ms, err = int_field(spec, "delay_ms", 0, 0, 600000)
  if err then return nil, err end
  local times
  times, err = int_field(spec, "times", 1, 0)
  if err then return nil, err end

  local rule = {
    id = self.next_id,
    method = method and method:upper() or nil,
    path = path,
    status = status,
    body = status and (body or DEFAULT_BODY) or nil,
    content_type = status and (content_type or DEFAULT_CONTENT_TYPE) or nil,
    delay_ms = delay_ms,
    times = times,   -- remaining uses; 0 = unlimited
    hits = 0,
  }
  self.next_id = self.next_id + 1
  self.rules[#self.rules + 1] = rule
  return copy_rule(rule)
end

function Faults:clear()
  self.rules = {}
end

--- Find the first rule (oldest first) for this request and use it up once.
-- Returns a copy of the rule as it was applied, or nil.
function Faults:take(method, path)
  for i, rule in ipairs(self.rules) do
    if rule.path == path and (rule.method == nil or rule.method == method) then
      rule.hits = rule.hits + 1
      if rule.times > 0 then
        rule.times = rule.times - 1
        if rule.times == 0 then table.remove(self.rules, i) end
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

return Faults
