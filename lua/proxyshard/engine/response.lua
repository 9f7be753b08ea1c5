--- What one attempt of an API call came to: the converted answer, or an
-- error value that also says whether the call may be tried again
-- (`err.retryable`, `err.retry_after`) and, for calls that change state,
-- whether the outcome is unknown.
local errors = require "proxyshard.errors"
local json = require "proxyshard.wire.json"
local retry = require "proxyshard.engine.retry"

local type = type
local next = next
local pairs = pairs
local tostring = tostring
local setmetatable = setmetatable
local format = string.format
local sub = string.sub
local array_mt = json.array_mt

local M = {}

--- The response headers this module reads: a transport may leave the
-- others out (the curl transport does, unless a hook wants them all).
M.HEADERS = { "content-type", "retry-after" }

local STATUS_KINDS = {
  [400] = "validation", [401] = "auth", [403] = "forbidden", [404] = "not_found",
  [422] = "validation", [429] = "rate_limited",
}

local function kind_for_status(status)
  if STATUS_KINDS[status] then return STATUS_KINDS[status] end
  if status >= 500 and status <= 599 then return "server" end
  return "api"
end

-- The start of a body for an error, token removed first: cutting first
-- could split the token and leave its first half behind.
local function snippet(text, seen)
  text = seen.redact(text)
  if #text > 200 then return sub(text, 1, 200) .. "…" end
  return text
end

-- Statuses by which a gateway says its upstream failed, timed out or is
-- unavailable: the API behind it may still be working on the request.
-- (520–527 are Cloudflare's own, 524 "a timeout occurred" among them.)
local function gateway_status(status)
  return status == 502 or status == 503 or status == 504 or (status >= 520 and status <= 527)
end

-- A name that did not resolve: most often no network, or a typo in
-- base_url. Say how to work without the real API.
local SANDBOX_HINT = " (no network? develop against the local sandbox: run bin/proxyshard-sandbox "
  .. "and give base_url = \"http://127.0.0.1:8089\", token = \"sandbox-token\")"

-- What a state-changing call that may have been carried out turns into:
-- the caller must not resend it blindly, and is told what was attempted.
-- `in_flight` says whether the request may still be running on the
-- server: true unless a complete answer came back from whoever handled it
-- (see proxyshard.flows.reconcile, which resends only when it is false).
local function unknown_outcome(call, seen, cause, message, fields, in_flight)
  fields.cause = cause
  fields.attempted = { method = call.method, path = call.path, body = seen.body }
  fields.retryable = false
  fields.in_flight = in_flight
  -- what is known first: a transport's words ("Send failed...") read as
  -- "not sent", and it may have been
  return errors.new("unknown_outcome", "the outcome is unknown: the request may have been carried out, so check "
    .. "before trying again (" .. message .. ")", fields)
end

-- No HTTP answer was read.
local function transport_failure(call, terr, seen)
  local kind = terr.kind
  local message = seen.redact(tostring(terr.message))
  if terr.resolve_failed then message = message .. SANDBOX_HINT end
  local where = { method = call.method, path = call.path, request_sent = terr.request_sent ~= false }
  if kind ~= "timeout" and kind ~= "tls" and kind ~= "too_large" and kind ~= "phase" and kind ~= "interrupted" then
    kind = "network"
  end
  if not where.request_sent then
    -- provably never left: safe to send again, whatever the method (but a
    -- certificate will not verify any better the second time, nor will
    -- the nginx phase change; and an interrupt means stop)
    where.retryable = kind ~= "tls" and kind ~= "phase" and kind ~= "interrupted"
    return errors.new(kind, message, where)
  end
  if call.mutates then
    return unknown_outcome(call, seen, kind == "too_large" and "decode" or kind, message, where, true)
  end
  if kind == "too_large" then
    return errors.new("decode", message, where)
  end
  -- a certificate will not verify any better the second time
  where.retryable = kind ~= "tls" and kind ~= "interrupted"
  return errors.new(kind, message, where)
end

-- An HTTP answer that is not a 2xx.
local function status_failure(call, res, seen)
  local decoded = json.decode(res.body)
  local server_message = type(decoded) == "table" and type(decoded.message) == "string"
    and decoded.message ~= "" and seen.redact(decoded.message) or nil
  local ctype = res.headers and res.headers["content-type"]
  local message = server_message or format("HTTP %d%s", res.status,
    ctype and (" with a " .. ctype:match("^[^;]*") .. " body") or "")
  local kind = kind_for_status(res.status)
  local fields = {
    status = res.status, method = call.method, path = call.path,
    body = res.body ~= "" and snippet(res.body, seen) or nil,
  }
  if res.status == 404 and (server_message == nil or server_message:find("^%s*[Nn]ot [Ff]ound%.?%s*$")) then
    -- not the API's own "Order not found" but a bare 404 (no message, or
    -- a router's generic one): the server has no such path at all, most
    -- often a wrong base URL
    message = format("HTTP 404 for %s %s: the server has no such path: is the base URL (%s) right?",
      call.method, seen.url and seen.url:match("^%a[%w+.-]*://[^/]*([^?]*)") or call.path, seen.base_url or "?")
  end
  if kind == "server" and call.mutates then
    -- whatever the body says: a gateway writes a JSON message too, after
    -- the API behind it charged, or while it still works on the request
    return unknown_outcome(call, seen, "server", message, fields, gateway_status(res.status))
  end
  if kind == "server" or kind == "rate_limited" then
    local after = res.headers and res.headers["retry-after"]
    fields.retry_after = after and retry.parse_retry_after(after, seen.now())
    -- a refused or failed GET changes nothing; a POST is never resent
    fields.retryable = not call.mutates
  end
  return errors.new(kind, message, fields)
end

--- A 2xx whose body cannot be read (by its shape here, or by the row's
-- model in proxyshard.engine): for a GET a decode error; for a call that
-- changes state, the server said it did something we cannot see, so the
-- outcome is unknown (a decode error would invite a blind retry). The
-- answer was complete, so the request is no longer in flight.
-- call = { method, path, mutates }; seen = { body = the body sent } or {}.
function M.unreadable(call, seen, message, where)
  if call.mutates then return unknown_outcome(call, seen, "decode", message, where, false) end
  return errors.new("decode", message, where)
end
local unreadable = M.unreadable

-- The answers' decoder (proxyshard.core.decode): the bytes read straight
-- into the values the models wrap, by the row's shape compiled once —
-- integers and money from their digits, never through a double.
local core_decode, core_shape
local compiled = setmetatable({}, { __mode = "k" })

local function is_list_answer(shape)
  return shape.list ~= nil and next(shape, next(shape)) == nil
end

-- `shape` compiled: { shape = the C shape, drop_success, drop_message =
-- whether success / message were added to it only to tell a refusal (then
-- taken off the value after), list }.
local function compile(shape)
  local c = compiled[shape]
  if c then return c end
  if not core_shape then
    local core = require "proxyshard.core"
    core_decode, core_shape = core.decode, core.shape
    -- the decoder makes money values: their module is the one that knows
    -- them (proxyshard.cli.render asks package.loaded for it)
    require "proxyshard.money"
  end
  local top, added = shape, nil
  if not is_list_answer(shape) and (shape.success == nil or shape.message == nil) then
    top, added = {}, {}
    for k, v in pairs(shape) do top[k] = v end
    if shape.success == nil then top.success, added.success = "boolean", true end
    if shape.message == nil then top.message, added.message = "string", true end
  end
  c = { shape = core_shape(top), drop_success = added and added.success or false,
    drop_message = added and added.message or false, list = is_list_answer(shape) }
  compiled[shape] = c
  return c
end

-- The words of a refusal of the decoder at `path`.
local function decode_message(c, path, why)
  local what = c.list and "array" or "object"
  -- the text is not JSON (or too deep) wherever it broke: the answer's fault
  if why:find("^invalid JSON") or why:find("^nested deeper") then
    return format("answer is not a JSON %s (%s)", what, why)
  end
  if path ~= "" then
    return "field " .. (sub(path, 1, 1) == "[" and "answer" or "") .. path .. ": " .. why
  end
  local got = why:match("^not a JSON object (%(got .*%))$") or why:match("^not a list (%(got .*%))$")
  if got then return format("answer is not a JSON %s %s", what, got) end
  return format("answer is not a JSON %s (%s)", what, why)
end

-- The API's refusal in an answer the shape cannot read: `success: false`
-- (its other fields may be anything then).
local function refusal(body)
  local decoded = json.decode_raw(body)
  if type(decoded) == "table" and decoded.success == false then return decoded end
end

local function api_refusal(r, where, seen)
  local msg = type(r.message) == "string" and seen.redact(r.message) or "success: false"
  return nil, errors.new("api", msg, where)
end

-- What the failure paths read about the attempt: the client's redactor,
-- clock and base URL (made once per client) and the request sent (its
-- body and URL); made only when an attempt failed.
local function failed(seen, req)
  return { redact = seen.redact, now = seen.now, base_url = seen.base_url, body = req and req.body,
    url = req and req.url }
end

local function where_of(call, res)
  return { status = res.status, method = call.method, path = call.path }
end

--- Interpret one attempt. `res`/`terr` are what the transport returned;
-- seen = { redact = fn, now = fn, base_url = the client's } (the
-- client's, one table); req = the request the transport was given.
-- Returns the converted answer or nil, err.
function M.interpret(call, res, terr, seen, req)
  if not res then return nil, transport_failure(call, terr, failed(seen, req)) end
  if res.status < 200 or res.status > 299 then return nil, status_failure(call, res, failed(seen, req)) end

  -- an answer read by its status alone (the health probes)
  if call.shape == false then return true end
  local ctype = res.headers and res.headers["content-type"]
  -- (the usual one needs no call)
  if ctype and ctype ~= "application/json" and not json.is_json_type(ctype) then
    -- a captive portal or a proxy's page, even if it happens to parse
    seen = failed(seen, req)
    local where = where_of(call, res)
    where.body = snippet(res.body, seen)
    return nil, unreadable(call, seen, "answer has content type " .. ctype:match("^[^;]*") .. ", not JSON", where)
  end
  local c = compiled[call.shape] or compile(call.shape)
  local body = res.body or ""
  local out, path, why = core_decode(body, c.shape, nil, array_mt, true)
  if out == nil then
    seen = failed(seen, req)
    local where = where_of(call, res)
    local r = refusal(body)
    if r then return api_refusal(r, where, seen) end
    where.body = snippet(body, seen)
    return nil, unreadable(call, seen, seen.redact(decode_message(c, path, why)), where)
  end
  if not c.list and out.success == false then return api_refusal(out, where_of(call, res), seen) end
  -- the fields read only to tell a refusal are not the answer's
  if c.drop_success then out.success = nil end
  if c.drop_message then out.message = nil end
  return out
end

return M
