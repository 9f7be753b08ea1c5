--- A test double for the transport interface (docs/transport.md): records
-- every request and answers from a queue of canned responses (and from
-- standing answers, for requests a spec is not about).
local M = {}

local Fake = {}
Fake.__index = Fake

--- answers: list of { status=, headers=, body= } or { error = { kind=, message=, request_sent= } }
function M.new(answers)
  return setmetatable({ requests = {}, answers = answers or {} }, Fake)
end

function Fake:push(answer)
  self.answers[#self.answers + 1] = answer
  return self
end

--- Queue a 200 JSON answer with the given body text.
function Fake:json(body, status)
  return self:push { status = status or 200, headers = { ["content-type"] = "application/json" }, body = body }
end

--- A standing answer: every request whose "METHOD url" matches `pattern`
-- (a Lua pattern) is answered with `answer` instead of the queue: a table
-- as for push, a JSON body text, or a function of the pattern's first
-- capture that returns such a table. Those requests are recorded in
-- `self.standing_seen`, not in `self.requests`: for specs about what a
-- spend sends after its price (`fake:quotes()`).
function Fake:standing(pattern, answer)
  if type(answer) == "string" then
    answer = { status = 200, headers = { ["content-type"] = "application/json" }, body = answer }
  end
  self.rules = self.rules or {}
  self.rules[#self.rules + 1] = { pattern = pattern, answer = answer }
  self.standing_seen = self.standing_seen or {}
  return self
end

--- A standing answer to every add-on quote: `total` cents (default 60) for
-- any quantity, for the p0f_slots add-on.
function Fake:quotes(total)
  return self:standing("GET .*/addons/calculate%?addon_key=p0f_slots&add_qty=(%d+)", function(qty)
    return { status = 200, headers = { ["content-type"] = "application/json" },
      body = string.format('{"success":true,"addon_key":"p0f_slots","price_per_unit":30,"current_qty":0,'
        .. '"add_qty":%s,"new_qty":%s,"add_total":%d}', qty, qty, total or 60) }
  end)
end

function Fake:request(req)
  for _, rule in ipairs(self.rules or {}) do
    local line = req.method .. " " .. req.url
    local captured = line:match(rule.pattern)
    if captured then
      self.standing_seen[#self.standing_seen + 1] = req
      local answer = rule.answer
      if type(answer) == "function" then answer = answer(captured) end
      return { status = answer.status, headers = answer.headers or {}, body = answer.body or "" }
    end
  end
  self.requests[#self.requests + 1] = req
  local answer = table.remove(self.answers, 1)
  assert(answer, "fake transport: no answer queued for " .. req.method .. " " .. req.url)
  if answer.error then return nil, answer.error end
  return { status = answer.status, headers = answer.headers or {}, body = answer.body or "" }
end

--- The header value of request `i` (case-insensitive name), or nil.
function Fake:header(i, name)
  for _, line in ipairs(self.requests[i].headers) do
    local n, v = line:match("^([^:]+):%s*(.*)$")
    if n:lower() == name:lower() then return v end
  end
end

function Fake:close() self.closed = true end

return M
