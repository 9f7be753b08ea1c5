--- The answer to a request that hit a fault rule (proxyshard.sandbox.faults):
-- handled for real or not, as the rule's `commit` says, then shaped — a
-- canned status, an oversized body, extra or junk headers — and marked with
-- what the HTTP server must still do (`res.fault.action`: drop, truncate,
-- stall). See proxyshard.sandbox.world.state for the table shapes.
--
-- `handling` gives the two ways to handle a request:
--   run(req)      for real
--   dry_run(req)  the answer it would get, with the state left as it was
local Faults = require "proxyshard.sandbox.faults"
local reply = require "proxyshard.sandbox.reply"

local M = {}

-- Exactly `size` bytes of valid JSON: an object with a padding string when
-- there is room for it, else a bare string.
local PAD_HEAD, PAD_TAIL = '{"success":true,"padding":"', '"}'
local function padded_json(size)
  if size >= #PAD_HEAD + #PAD_TAIL then
    return PAD_HEAD .. string.rep("x", size - #PAD_HEAD - #PAD_TAIL) .. PAD_TAIL
  elseif size >= 2 then
    return '"' .. string.rep("x", size - 2) .. '"'
  end
  return string.rep("0", size)
end

local PAD_HEADER_BYTES = 1000

-- `n` bytes of junk header values: x-pad-1, x-pad-2, ... of 1000 bytes each.
local function add_pad_headers(headers, n)
  local i = 0
  while n > 0 do
    i = i + 1
    local len = math.min(n, PAD_HEADER_BYTES)
    headers["x-pad-" .. i] = string.rep("p", len)
    n = n - len
  end
end

-- The real answer, or the would-be one with the state left alone: a rule
-- that only delays (no status, action "answer") always handles for real.
local function handled_answer(handling, req, entry, fault)
  local shapes = fault.status ~= nil or fault.action ~= "answer"
  if fault.commit or not shapes then
    entry.committed = true
    return handling.run(req)
  end
  entry.committed = false
  if fault.status == nil and fault.action ~= "oversize" then return handling.dry_run(req) end
  return nil -- a canned answer replaces it anyway
end

local function fault_info(fault, committed, body)
  return {
    id = fault.id,
    action = fault.action,
    commit = fault.commit,
    committed = committed,
    stall_ms = fault.stall_ms,
    size = fault.size,
    send_bytes = fault.action == "truncate" and #(body or "") // 2 or nil,
  }
end

-- The answer `res` shaped as the rule says: canned status or oversized body,
-- extra headers, and what the server must do with it.
local function shaped_answer(res, fault, committed)
  if fault.action == "oversize" then
    res = {
      status = fault.status or 200,
      headers = { ["content-type"] = fault.content_type or "application/json" },
      body = padded_json(fault.size),
    }
  elseif fault.status then
    res = {
      status = fault.status,
      headers = { ["content-type"] = fault.content_type },
      body = fault.body,
    }
  end
  res.headers = res.headers or {}
  for name, value in pairs(fault.headers or {}) do res.headers[name:lower()] = value end
  add_pad_headers(res.headers, fault.huge_headers or 0)
  res.fault = fault_info(fault, committed, res.body)
  return res
end

-- The answer to a request whose rule is commit = "after_delay": a promise.
-- Nothing is handled until `finish` is called; `still_valid()` is false
-- once the sandbox was reset, and then nothing is handled at all.
local function deferred(handling, req, entry, fault, still_valid)
  entry.committed = false
  return {
    delay = fault.delay_ms / 1000,
    fault = fault_info(fault, false),
    finish = function()
      if not still_valid() then
        local res = reply.json(503, { success = false,
          message = "Sandbox was reset while this request waited; it was not handled" })
        -- answered plainly: the rule's action was meant for the real answer
        res.fault = fault_info(fault, false)
        res.fault.action, res.fault.cancelled = "answer", true
        return res
      end
      entry.committed = true
      return shaped_answer(handling.run(req), fault, true)
    end,
  }
end

--- The answer to `req`, which hit `fault`; `entry` is its request-log
-- entry (its `committed` is set here).
function M.answer(handling, req, entry, fault, still_valid)
  if fault.commit == Faults.COMMIT_AFTER_DELAY then return deferred(handling, req, entry, fault, still_valid) end
  local res = shaped_answer(handled_answer(handling, req, entry, fault), fault, entry.committed)
  res.delay = fault.delay_ms > 0 and fault.delay_ms / 1000 or nil
  return res
end

return M
