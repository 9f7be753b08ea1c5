--- A test double for the transport interface (docs/transport.md): records
-- every request and answers from a queue of canned responses.
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

function Fake:request(req)
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
