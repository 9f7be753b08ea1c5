--- What one attempt of an API call came to: the converted answer, or an
-- error value that also says whether the call may be tried again
-- (`err.retryable`, `err.retry_after`) and, for calls that change state,
-- whether the outcome is unknown.
local errors = require "proxyshard.errors"
local json = require "proxyshard.json"
local convert = require "proxyshard.convert"
local retry = require "proxyshard.retry"

local type = type
local tostring = tostring
local format = string.format
local sub = string.sub

local M = {}

local STATUS_KINDS = {
  [400] = "validation", [401] = "auth", [403] = "forbidden", [404] = "not_found",
  [422] = "validation", [429] = "rate_limited",
}

local function kind_for_status(status)
  if STATUS_KINDS[status] then return STATUS_KINDS[status] end
  if status >= 500 and status <= 599 then return "server" end
  return "api"
end

local function snippet(text)
  if #text > 200 then return sub(text, 1, 200) .. "…" end
  return text
end

-- application/json, or a +json type, any parameters
local function is_json_type(ctype)
  local mime = ctype:match("^%s*([^;%s]+)")
  if not mime then return false end
  mime = mime:lower()
  return mime == "application/json" or mime:find("^application/[%w.%-]+%+json$") ~= nil
end

-- What a state-changing call that may have been carried out turns into:
-- the caller must not resend it blindly, and is told what was attempted.
local function unknown_outcome(call, cause, message, fields)
  fields.cause = cause
  fields.attempted = { method = call.method, path = call.path, body = call.body_text }
  fields.retryable = false
  return errors.new("unknown_outcome",
    message .. "; the request may have been carried out: check before trying again", fields)
end

-- No HTTP answer was read.
local function transport_failure(call, terr, ctx)
  local kind = terr.kind
  local message = ctx.redact(tostring(terr.message))
  local where = { method = call.method, path = call.path, request_sent = terr.request_sent ~= false }
  if kind ~= "timeout" and kind ~= "tls" and kind ~= "too_large" and kind ~= "phase" then kind = "network" end
  if not where.request_sent then
    -- provably never left: safe to send again, whatever the method (but a
    -- certificate will not verify any better the second time, nor will
    -- the nginx phase change)
    where.retryable = kind ~= "tls" and kind ~= "phase"
    return errors.new(kind, message, where)
  end
  if call.mutates then
    return unknown_outcome(call, kind == "too_large" and "decode" or kind, message, where)
  end
  if kind == "too_large" then
    return errors.new("decode", message, where)
  end
  -- a certificate will not verify any better the second time
  where.retryable = kind ~= "tls"
  return errors.new(kind, message, where)
end

-- An HTTP answer that is not a 2xx.
local function status_failure(call, res, ctx)
  local decoded = json.decode(res.body)
  local server_message = type(decoded) == "table" and type(decoded.message) == "string"
    and decoded.message ~= "" and ctx.redact(decoded.message) or nil
  local ctype = res.headers and res.headers["content-type"]
  local message = server_message or format("HTTP %d%s", res.status,
    ctype and (" with a " .. ctype:match("^[^;]*") .. " body") or "")
  local kind = kind_for_status(res.status)
  local fields = {
    status = res.status, method = call.method, path = call.path,
    body = res.body ~= "" and ctx.redact(snippet(res.body)) or nil,
  }
  if kind == "server" and call.mutates and not server_message then
    -- a gateway's error page, not the API's: the API may have done it
    return unknown_outcome(call, "server", message, fields)
  end
  if kind == "server" or kind == "rate_limited" then
    local after = res.headers and res.headers["retry-after"]
    fields.retry_after = after and retry.parse_retry_after(after, ctx.now())
    -- a refused or failed GET changes nothing; a POST is never resent
    fields.retryable = not call.mutates
  end
  return errors.new(kind, message, fields)
end

--- Interpret one attempt. `res`/`terr` are what the transport returned;
-- ctx = { redact = fn, now = fn }. Returns the converted answer or nil, err.
-- A 2xx whose body cannot be read: for a GET a decode error; for a call
-- that changes state, the server said it did something we cannot see, so
-- the outcome is unknown (a decode error would invite a blind retry).
local function unreadable(call, message, where)
  if call.mutates then return unknown_outcome(call, "decode", message, where) end
  return errors.new("decode", message, where)
end

function M.interpret(call, res, terr, ctx)
  if not res then return nil, transport_failure(call, terr, ctx) end
  if res.status < 200 or res.status > 299 then return nil, status_failure(call, res, ctx) end

  local where = { status = res.status, method = call.method, path = call.path }
  local ctype = res.headers and res.headers["content-type"]
  if ctype and not is_json_type(ctype) then
    -- a captive portal or a proxy's page, even if it happens to parse
    where.body = ctx.redact(snippet(res.body))
    return nil, unreadable(call, "answer has content type " .. ctype:match("^[^;]*") .. ", not JSON", where)
  end
  local decoded, derr = json.decode(res.body)
  if type(decoded) ~= "table" then
    where.body = ctx.redact(snippet(res.body))
    return nil, unreadable(call, format("answer is not a JSON object (%s)", derr or type(decoded)), where)
  end
  if decoded.success == false then
    local msg = type(decoded.message) == "string" and ctx.redact(decoded.message) or "success: false"
    return nil, errors.new("api", msg, where)
  end
  local out, cerr = convert.object(decoded, call.shape)
  if not out then return nil, unreadable(call, cerr, where) end
  return out
end

return M
