--- Error values returned as the second result of every call that can fail.
-- An error is a table with at least `kind`, `message`, `status` (HTTP status
-- or nil), `method` and `path`; `tostring(err)` is one readable line.
local setmetatable = setmetatable
local tostring = tostring
local type = type
local pairs = pairs
local error = error
local format = string.format

local M = {}

--- The documented kinds, with what each means.
M.KINDS = {
  invalid_argument = "an argument was rejected before any request was sent",
  auth = "the API token was refused (HTTP 401)",
  forbidden = "the operation is not allowed for this order or account (HTTP 403)",
  not_found = "no such order or resource (HTTP 404)",
  validation = "the API refused the request (HTTP 400/422): not enough slots or balance, inactive order...",
  rate_limited = "too many requests (HTTP 429)",
  server = "the API failed (HTTP 5xx)",
  api = "the API answered but reported a failure (success: false, or an unexpected status)",
  decode = "the answer was not the JSON expected (bad JSON, a field of the wrong type, too large)",
  timeout = "no complete answer within the time allowed",
  network = "the connection failed or broke",
  tls = "the TLS handshake or certificate verification failed",
  budget = "the price is above max_total, or there is no price to check max_total against: nothing was bought",
  declined = "the confirm option did not confirm the price: nothing was bought",
  locked = "another run holds the account's lock (err.holder says who): nothing was sent",
  interrupted = "SIGINT or SIGTERM stopped the call (the command traps them); a write that may have gone out "
    .. "is unknown_outcome instead",
  phase = "inside nginx, the call was made in a phase that cannot do non-blocking I/O (use ngx.timer.at)",
  unknown_outcome = "a state-changing request may or may not have been carried out (no answer came back)",
  stale = "a saved plan no longer fits the account (it changed since the plan was made): nothing was done",
}

local Error = {}
Error.__index = Error

function Error.__tostring(e)
  local where = {}
  if e.status then where[#where + 1] = "HTTP " .. e.status end
  if e.method and e.path then where[#where + 1] = e.method .. " " .. e.path end
  if #where > 0 then
    return format("proxyshard %s error: %s (%s)", e.kind, e.message, table.concat(where, ", "))
  end
  return format("proxyshard %s error: %s", e.kind, e.message)
end

--- Is this value one of our errors (of a given kind, when `kind` is given)?
function M.is(value, kind)
  if type(value) ~= "table" or getmetatable(value) ~= Error then return false end
  return kind == nil or value.kind == kind
end

--- Make an error. `fields` may add `status`, `method`, `path`, `argument`...
-- An unknown kind is a bug in this library, so it raises.
function M.new(kind, message, fields)
  if M.KINDS[kind] == nil then
    error("proxyshard: unknown error kind " .. tostring(kind), 2)
  end
  local e = { kind = kind, message = tostring(message) }
  if fields then
    for k, v in pairs(fields) do
      if e[k] == nil then e[k] = v end
    end
  end
  return setmetatable(e, Error)
end

--- An `invalid_argument` error naming the argument.
function M.invalid(argument, message)
  return M.new("invalid_argument", argument .. " " .. message, { argument = argument })
end

return M
