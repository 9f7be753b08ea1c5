--- The OpenAPI checks' driver (scripts/prism.sh starts Prism and the
-- sandbox, then runs this): the 34 calls of spec/prism/calls.lua against
-- each target, Prism's log read after every call (spec/prism/log.lua).
-- A TAP producer; its last lines are the counts and the plan.
--   lua5.4 spec/prism/driver.lua TOKEN STATE_DIR TARGET...
--   TARGET: mock,NAME,URL,LOG              prism mock (NAME: static, seed-N)
--           proxy,proxy,URL,LOG,SANDBOX    prism proxy in front of the sandbox
-- Mock targets: each call through the library (its method, flows
-- included) and through the command must send only requests the document
-- allows; and the row alone (proxyshard.engine.run: its request, its
-- answer read by its shape and model, no pricing) must read Prism's
-- answer. Its answer is read when the call returns a value, or the
-- answer's own `success: false` as an api error (what the reference's
-- §12 asks of a client); refusing it (decode) fails, but for the two
-- documented cases, counted apart:
--   negative money   the library refuses negative prices on purpose (a
--                    negative total would slip under any cap:
--                    csrc/answer.c, docs/operations.md)
--   other add-on     an add-on quote naming another add-on than the one
--                    asked (proxyshard.model.quote): the document's words
--                    make it the preview of the add-on asked for; its
--                    schema, which Prism generates from, does not say so
--   unlisted         creating a sub-user whose answer lists none: an
--                    unknown outcome on purpose (it may exist now, and a
--                    rerun would make a second one: spec/writes_spec.lua)
-- Whether a call through the library or the command succeeds against a
-- mock is not checked: a flow reads several answers that a mock does not
-- keep consistent (a quote for one add-on, an order list that never
-- ends); its outcome is printed as a comment, and only invalid_argument
-- fails it (or the command's exit 1 or 2): the arguments are valid, so
-- that would blame the caller for an answer. The proxy target checks it:
-- there every call must succeed, by the library and by the command (the
-- sandbox reset before each pass), with no request or response violation.
package.path = "lua/?.lua;lua/?/init.lua;spec/?.lua;" .. package.path
package.cpath = "build/lib/?.so;" .. package.cpath

local proxyshard = require "proxyshard"
local engine = require "proxyshard.engine"
local plan = require "proxyshard.engine.plan"
local operations = require "proxyshard.operations"
local core = require "proxyshard.core"
local calls = require "prism.calls"
local prism_log = require "prism.log"

local format = string.format
local concat = table.concat

local token, state_dir = arg[1], arg[2]
assert(token and state_dir, "usage: lua5.4 spec/prism/driver.lua TOKEN STATE_DIR TARGET...")

local n = 0
local failed = 0
local function tap(ok, text, notes)
  n = n + 1
  print(format("%s %d - %s", ok and "ok" or "not ok", n, text))
  if not ok then failed = failed + 1 end
  for _, note in ipairs(notes or {}) do
    if note ~= "" then print("#   " .. note) end
  end
  return ok
end

local totals = { request = 0, response = 0, accepted = 0, generated = 0, negative = 0, other_addon = 0, unlisted = 0,
  unread = 0 }

-- rows by "handle.name"; a row fails when any of its checks does
local rows, row_ok, row_seen = {}, {}, {}
for _, row in ipairs(operations.rows) do
  rows[row.handle .. "." .. row.name] = row
  row_ok[row] = true
  row_seen[row] = {}
end

-- the row's path as a pattern: "/user/api/orders/{id}" -> "^/user/api/orders/[^/]+$"
local function path_pattern(path)
  local p = path:gsub("[%-%.%+%*%?%^%$%%%(%)%[%]]", "%%%0"):gsub("{[^}]+}", "[^/]+")
  return "^" .. p .. "$"
end

local function own(row, block)
  return block.method == row.method and block.path:match("^[^?]*"):match(path_pattern(row.path)) ~= nil
end

-- The violations in `blocks`, added to the totals; notes for the TAP line.
local function violations(blocks, notes)
  local req, res, errs = 0, 0, 0
  for _, b in ipairs(blocks) do
    for _, v in ipairs(b.request) do notes[#notes + 1] = b.method .. " " .. b.path .. ": " .. v end
    for _, v in ipairs(b.response) do notes[#notes + 1] = b.method .. " " .. b.path .. ": " .. v end
    for _, v in ipairs(b.errors) do notes[#notes + 1] = b.method .. " " .. b.path .. ": Prism: " .. v end
    req, res, errs = req + #b.request, res + #b.response, errs + #b.errors
  end
  totals.request, totals.response = totals.request + req, totals.response + res
  return req, res, errs
end

local function sent(blocks)
  local list = {}
  for _, b in ipairs(blocks) do list[#list + 1] = b.method .. " " .. b.path:match("^[^?]*") end
  if #list > 4 then list = { list[1], list[2], format("... %d more ...", #list - 3), list[#list] } end
  return format("%d sent: %s", #blocks, concat(list, ", "))
end

local function one_line(s)
  return (tostring(s):gsub("%s*\n%s*", " "))
end

-- What a library call came to: "ok", "negative", "other_addon", "api"
-- (the answer's own success: false), "refused" (decode: the answer not
-- read) or "error" (anything else), and a text.
local function outcome(v, err)
  if v ~= nil then return "ok", "done" end
  local kind, text = err and err.kind, one_line(err)
  local decode = kind == "decode" or (kind == "unknown_outcome" and err.cause == "decode")
  if decode and text:find("a negative price", 1, true) then return "negative", text end
  if decode and text:find("the quote is for add-on", 1, true) then return "other_addon", text end
  if kind == "unknown_outcome" and text:find("lists no sub-user", 1, true) then return "unlisted", text end
  if decode then return "refused", text end
  if kind == "api" and err.status and err.status >= 200 and err.status < 300 then return "api", text end
  -- a sub-user read whose answer lists none: read, and it says no such sub-user
  if kind == "not_found" and text:find("lists no sub-user", 1, true) then return "api", text end
  return "error", text
end

local function client_for(url)
  return proxyshard.new { token = token, base_url = url, max_retries = 0, timeout = 20 }
end

-- Lua's call of `fn`, an error raised turned into a value.
local function protect(fn, ...)
  local ok, v, err = pcall(fn, ...)
  if not ok then return nil, { kind = "raised", message = tostring(v) }, true end
  return v, err, false
end

local function public_call(c, call, row)
  local h = call.on(c)
  local args = { table.unpack(call.args) }
  if row.spends then args[#args + 1] = calls.SPEND end
  return protect(h[row.name], h, table.unpack(args))
end

local function raw_call(c, call, row)
  return protect(engine.run, call.on(c), row, nil, table.unpack(call.args, 1, plan.arity(row)))
end

local function q(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

local function cli_call(url, call)
  local out = os.tmpname()
  local words = { "PROXYSHARD_TOKEN=" .. q(token), "PROXYSHARD_STATE_DIR=" .. q(state_dir), "lua5.4 bin/proxyshard",
    "--base-url", q(url) }
  for _, a in ipairs(call.cli) do words[#words + 1] = q(a) end
  local _, _, code = os.execute(concat(words, " ") .. " >/dev/null 2>" .. q(out))
  local f = io.open(out, "r")
  local err = f and f:read("a") or ""
  if f then f:close() end
  os.remove(out)
  return code, one_line(err:match("^[^\n]*") or "")
end

local function mark_seen(row, target, blocks)
  for _, b in ipairs(blocks) do
    if own(row, b) and #b.request == 0 then row_seen[row][target] = true end
  end
end

local function check(row, ok, text, notes)
  if not tap(ok, text, notes) then row_ok[row] = false end
end

local function mock_target(name, url, log_path)
  local log = prism_log.open(log_path, url)
  local c = client_for(url)
  local generated = name ~= "static"

  -- a canary: the log reader sees what Prism reports (GET /user/api/orders without its required status)
  local session = core.session { timeout_ms = 10000 }
  session:perform { method = "GET", url = url .. "/user/api/orders", headers = { "Authorization: Bearer " .. token } }
  session:close()
  local canary = log:blocks()
  tap(#canary == 1 and #canary[1].request > 0,
    format("%s: Prism's log shows a request violation where there is one (a canary, not counted)", name))

  for _, call in ipairs(calls.list) do
    local row = rows[call.row]
    local notes = {}

    -- the library: the method, flows included
    local v, err, raised = public_call(c, call, row)
    local blocks = log:blocks()
    local req, _, errs = violations(blocks, notes)
    local how, text = outcome(v, err)
    if how ~= "ok" then notes[#notes + 1] = "outcome: " .. text end
    mark_seen(row, name, blocks)
    -- the arguments are valid: invalid_argument would blame the caller for an answer
    local blamed = err and err.kind == "invalid_argument"
    check(row, req == 0 and errs == 0 and not raised and not blamed and #blocks > 0,
      format("%s: %s by the library: its requests are valid (%s)", name, call.row, sent(blocks)), notes)

    -- the row alone: its request, and its answer read
    notes = {}
    v, err, raised = raw_call(c, call, row)
    blocks = log:blocks()
    req, _, errs = violations(blocks, notes)
    how, text = outcome(v, err)
    local read = how == "ok" or how == "api"
    local documented = how == "negative" or how == "other_addon" or how == "unlisted"
    if generated then
      totals.generated = totals.generated + 1
      if read then totals.accepted = totals.accepted + 1 end
      if documented then totals[how] = totals[how] + 1 end
      if not read and not documented then totals.unread = totals.unread + 1 end
    end
    local said = read and "read" or how == "negative" and "refused: negative money, the documented deviation"
      or how == "other_addon" and "refused: a quote for another add-on than asked, the documented check"
      or how == "unlisted" and "unknown outcome: a created sub-user not listed, the documented safety rule"
      or ("not read: " .. text)
    mark_seen(row, name, blocks)
    local reached = false
    for _, b in ipairs(blocks) do reached = reached or own(row, b) end
    check(row, req == 0 and errs == 0 and not raised and reached and (read or documented),
      format("%s: %s alone: its request is valid and its answer %s", name, call.row, said), notes)

    -- the command
    notes = {}
    local code, stderr = cli_call(url, call)
    blocks = log:blocks()
    req, _, errs = violations(blocks, notes)
    if code ~= 0 then notes[#notes + 1] = format("exit %s: %s", tostring(code), stderr) end
    mark_seen(row, name, blocks)
    -- 1 is the command's own bug, 2 a command line it refused: neither is the API's answer
    check(row, req == 0 and errs == 0 and code ~= 1 and code ~= 2 and #blocks > 0,
      format("%s: proxyshard %s: its requests are valid (%s)", name, call.cli[1], sent(blocks)), notes)
  end
  prism_log.close(log)
end

local function proxy_target(url, log_path, sandbox)
  local log = prism_log.open(log_path, url)
  local control = core.session { timeout_ms = 10000 }
  local function reset()
    local res = control:perform { method = "POST", url = sandbox .. "/_sandbox/reset", body = "" }
    assert(res and res.status == 200, "the sandbox did not reset")
  end

  local function pass(way, run)
    reset()
    log:blocks()
    for _, call in ipairs(calls.list) do
      local row = rows[call.row]
      local notes = {}
      local ok, text = run(call, row)
      local blocks = log:blocks()
      local req, res, errs = violations(blocks, notes)
      mark_seen(row, "proxy", blocks)
      local reached = false
      for _, b in ipairs(blocks) do reached = reached or own(row, b) end
      if not ok then notes[#notes + 1] = text end
      check(row, ok and reached and req == 0 and res == 0 and errs == 0,
        format("proxy: %s %s against the sandbox: done, requests and answers valid (%s)", call.row, way, sent(blocks)),
        notes)
    end
  end

  local c = client_for(url)
  pass("by the library", function(call, row)
    local v, err = public_call(c, call, row)
    return v ~= nil, "outcome: " .. select(2, outcome(v, err))
  end)
  pass("by the command", function(call)
    local code, stderr = cli_call(url, call)
    return code == 0, format("exit %s: %s", tostring(code), stderr)
  end)

  print(format("ok %d - %s # SKIP %s", n + 1, calls.DC_PURCHASE.what, calls.DC_PURCHASE.why))
  n = n + 1

  -- a canary: an answer that breaks the document is seen (the sandbox made to send one)
  reset()
  local fault = '{"path":"/user/api/me","method":"GET","status":200,"times":1,'
    .. '"body":"{\\"email\\":5,\\"active_orders\\":1,\\"wallet_balance\\":3}"}'
  control:perform { method = "POST", url = sandbox .. "/_sandbox/faults", body = fault,
    headers = { "Content-Type: application/json" } }
  local v = c:me()
  local blocks = log:blocks()
  local seen = 0
  for _, b in ipairs(blocks) do seen = seen + #b.response end
  tap(v == nil and seen == 1, "proxy: Prism's log shows a response violation where there is one (a canary, "
    .. "not counted: the sandbox made to answer an email that is a number)")
  reset()
  control:close()
  prism_log.close(log)
end

-- the calls are the rows: each row once
do
  local missing, twice, seen = {}, {}, {}
  for _, call in ipairs(calls.list) do
    if seen[call.row] then twice[#twice + 1] = call.row end
    seen[call.row] = true
  end
  for key in pairs(rows) do
    if not seen[key] then missing[#missing + 1] = key end
  end
  table.sort(missing)
  tap(#missing == 0 and #twice == 0 and #calls.list == #operations.rows,
    format("the %d calls are the %d rows of proxyshard.operations, each once", #calls.list, #operations.rows),
    { #missing > 0 and "missing: " .. concat(missing, ", ") or "", #twice > 0 and "twice: " .. concat(twice, ", ")
      or "" })
end

local targets = {}
for i = 3, #arg do
  local kind, name, url, log_path, sandbox = arg[i]:match("^(%a+),([^,]+),([^,]+),([^,]+),?(.*)$")
  assert(kind, "a target is kind,name,url,log[,sandbox]: " .. arg[i])
  targets[#targets + 1] = name
  if kind == "mock" then
    mock_target(name, url, log_path)
  else
    proxy_target(url, log_path, sandbox)
  end
end

-- An operation counts when every check of its row passed and, in every
-- target, Prism validated its own request.
local covered, short = 0, {}
for _, row in ipairs(operations.rows) do
  local everywhere = true
  for _, t in ipairs(targets) do everywhere = everywhere and row_seen[row][t] == true end
  if row_ok[row] and everywhere then
    covered = covered + 1
  else
    short[#short + 1] = row.handle .. "." .. row.name
  end
end
tap(covered == #operations.rows, format("every operation's own request validated in every target (%s)",
  concat(targets, ", ")), { #short > 0 and "short: " .. concat(short, ", ") or "" })

local refused = {}
if totals.negative > 0 then
  refused[#refused + 1] = format("%d refused: negative money, the documented deviation", totals.negative)
end
if totals.other_addon > 0 then
  refused[#refused + 1] = format("%d refused: a quote for another add-on than asked, the documented check",
    totals.other_addon)
end
if totals.unlisted > 0 then
  refused[#refused + 1] = format("%d unknown outcomes: a created sub-user not listed, the documented safety rule",
    totals.unlisted)
end
if totals.unread > 0 then refused[#refused + 1] = format("%d not read", totals.unread) end
print(format("1..%d", n))
print(format("prism: %d of %d operations, request violations %d, response violations %d, "
  .. "generated answers accepted %d of %d%s", covered, #operations.rows, totals.request, totals.response,
  totals.accepted, totals.generated, #refused > 0 and (" (" .. concat(refused, "; ") .. ")") or ""))
os.exit(failed == 0 and 0 or 1)
