-- On LuaJIT (and so inside nginx) the hot path of a call is compiled: no
-- trace gives up in the library's code. A trace that aborts leaves that
-- part of every call to the interpreter, about twice the instructions
-- (docs/benchmarks.md). What made them abort: a return straight from a
-- tail-called fast function (`return setmetatable(t, mt)`) and returns
-- through vararg frames, "NYI: return to lower frame" and "leaving loop in
-- root trace". Counts trace events, not time: the same on any machine.
local jit = rawget(_G, "jit")
local proxyshard = require "proxyshard"

local QUOTE = '{"success":true,"addon_key":"p0f_slots","catalog_id":1,"price_per_unit":30,'
  .. '"current_qty":3,"add_qty":2,"new_qty":5,"add_total":60}'
local INFO = '{"success":true,"order":{"order_id":12345,"product_name":"Datacenter Proxy","cycle_name":"monthly",'
  .. '"quantity":5,"price_paid":1500,"addons_price_paid":90,"addons":[{"addon_key":"p0f_slots","catalog_id":1,'
  .. '"qty":3,"price_per_unit":30,"pending":null}],"p0f_slots_available":3,"p0f_slots_used":1,'
  .. '"p0f_slots_next":3,"status":"active","created_at":"2026-11-01T00:00:00Z","expires_at":null,'
  .. '"promo_code":null,"auto_renewal":true,"tag":null}}'

-- A transport that answers at once, a new answer table each time as a
-- real one makes; the body by path.
local function transport()
  return {
    request = function(_, req)
      local body = req.url:find("calculate", 1, true) and QUOTE or INFO
      return { status = 200, headers = { ["content-type"] = "application/json" }, body = body }
    end,
  }
end

-- The aborts of traces in the library's modules while `fn` runs `n`
-- times after `warm` runs: "file:line: reason" each.
local function aborts_while(fn, warm, n)
  local util, vmdef = require "jit.util", require "jit.vmdef"
  for _ = 1, warm do fn() end
  local seen = {}
  local function on_trace(what, _, func, pc, code, info)
    if what ~= "abort" then return end
    local where = util.funcinfo(func, pc)
    local source = where.source or "?"
    if source:find("proxyshard", 1, true) then
      local why = vmdef.traceerr[code] or tostring(code)
      if type(info) == "number" then why = why:format(vmdef.ffnames and vmdef.ffnames[info] or info)
      elseif info ~= nil then why = why:format(tostring(info)) end
      seen[#seen + 1] = ("%s:%s: %s"):format(source, tostring(where.currentline), why)
    end
  end
  jit.attach(on_trace, "trace")
  local ok, err = pcall(function() for _ = 1, n do fn() end end)
  jit.attach(on_trace)
  assert(ok, err)
  return seen
end

describe("on LuaJIT, a call's hot path", function()
  it("compiles: no trace aborts in the library's code, call after call", function()
    if not jit or not jit.status() then
      pending("LuaJIT with its compiler on only (this Lua: " .. _VERSION .. ")")
      return
    end
    local client = proxyshard.new { token = "test-token", base_url = "http://127.0.0.1:9", transport = transport() }
    local total = 0
    local seen = aborts_while(function()
      local quote = assert(client:order(12345):addon("p0f_slots"):quote(2))
      total = total + quote.total.cents
    end, 200, 3000)
    assert.are.same({}, seen)
    -- the answers were read for real (the warm-up's too)
    assert.are.equal(60 * 3200, total)
  end)

  it("a method returns its result alone (one value) on success", function()
    local client = proxyshard.new { token = "test-token", base_url = "http://127.0.0.1:9", transport = transport() }
    assert.are.equal(1, select("#", client:order(12345):addon("p0f_slots"):quote(2)))
    local n, info = select("#", client:order(12345):fetch()), client:order(12345):fetch()
    assert.are.equal(1, n)
    assert.are.equal(1500, info.price_paid.cents)
  end)
end)
