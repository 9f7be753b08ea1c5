--- Answers and refusals of the sandbox, as plain response tables
-- ({ status, headers, body }). A refusal is raised (`reply.bad("...")`) and
-- turned into the API's error body, ApiError `{"success":false,"message":...}`,
-- by the entry point: every check is one line, and nothing is changed
-- before all the checks of a request have passed.
local json = require "proxyshard.wire.json"

local M = {}

local Rejection = {}

--- A JSON answer: `payload` is encoded (proxyshard.wire.json), or written as
-- is when it is already text.
function M.json(status, payload, extra_headers)
  local headers = { ["content-type"] = "application/json" }
  for k, v in pairs(extra_headers or {}) do headers[k] = v end
  local body = type(payload) == "string" and payload or json.encode(payload)
  return { status = status, headers = headers, body = body }
end

--- Refuse the request with `status` and `message` (and extra headers).
function M.reject(status, message, headers)
  error(setmetatable({ status = status, message = message, headers = headers }, Rejection), 0)
end

--- 400, the API's answer to anything it will not do.
function M.bad(message) M.reject(400, message) end

--- 404: no such order or sub-user.
function M.not_found(message) M.reject(404, message) end

--- The error answer of a refusal; any other error is a sandbox bug, answered
-- 500 like a server would rather than dropping the connection, with the
-- message kept for whoever debugs it.
function M.error_response(e)
  if getmetatable(e) == Rejection then
    return M.json(e.status, { success = false, message = e.message }, e.headers)
  end
  return M.json(500, { success = false, message = "Sandbox internal error: " .. tostring(e) })
end

return M
