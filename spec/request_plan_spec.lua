-- The request plan (proxyshard.engine.plan) compiles each row into a Lua
-- function written for it. These specs check the functions against the
-- rows themselves: every row's function reads no global, and for every row
-- and many inputs (valid, missing, of the wrong type, from the options,
-- outside the enum) it makes the same request, or the same error, as a
-- plain reading of the row's description (the oracle below, written
-- straight from the rules in docs/operations.md: bound values first, then
-- fixed ones, the arguments, the options; each checked in the row's order).
local operations = require "proxyshard.operations"
local plan = require "proxyshard.engine.plan"
local validate = require "proxyshard.check.validate"
local url = require "proxyshard.wire.url"
local rows = require "support.rows"
local proxyshard = require "proxyshard"

local unpack = table.unpack or unpack -- luacheck: ignore (LuaJIT)

-- text of a value in the path or the query
local function text(v)
  if type(v) == "boolean" then return v and "true" or "false" end
  if type(v) == "number" then return string.format("%d", v) end
  return v
end

local function oracle(row, bound, args, opts)
  local values, free = {}, {}
  for _, p in ipairs(row.params) do
    if not p.bound and p.value == nil then free[p.name] = true end
  end
  if row.args == "table" then
    local t = args[1]
    if t ~= nil and type(t) ~= "table" then return nil, "params" end
    for k, v in pairs(t or {}) do
      if not free[k] then return nil, "params" end
      values[k] = v
    end
  else
    for i, name in ipairs(row.args) do values[name] = args[i] end
  end
  for _, p in ipairs(row.params) do
    if p.bound then values[p.name] = bound[p.bound]
    elseif p.value ~= nil then values[p.name] = p.value
    elseif values[p.name] == nil and opts and opts[p.name] ~= nil then values[p.name] = opts[p.name] end
  end
  local query, body = {}, nil
  for _, p in ipairs(row.params) do
    if p.at == "body" then body = body or {} end
    local v = values[p.name]
    if v == nil then
      if p.required then return nil, p.name end
    else
      if not p.bound then
        local checked = validate[p.check](v, p.name)
        if checked == nil then return nil, p.name end
        v = checked
        values[p.name] = v
      end
      if p.enum then
        local ok = false
        for _, e in ipairs(p.enum) do ok = ok or e == v end
        if not ok then return nil, p.name end
      end
      if p.at == "query" then query[#query + 1] = url.encode(p.wire) .. "=" .. url.encode(text(v)) end
      if p.at == "body" then body[p.wire] = v end
    end
  end
  local path = row.path:gsub("{([^}]+)}", function(wire)
    for _, p in ipairs(row.params) do
      if p.at == "path" and p.wire == wire then return url.encode(text(values[p.name])) end
    end
  end)
  return { method = row.method, path = path, query = #query > 0 and table.concat(query, "&") or nil, body = body,
    mutates = row.class == "write", shape = row.answer, auth = row.auth ~= false }, values
end

-- the inputs tried for each row: the sample, each parameter left out, given
-- a wrong value, given through the options, and an enum's other values
local WRONG = { {}, "", -1, 0, 1.5, "x y/é", true, 10001, string.rep("a", 300) }

local function cases(row)
  local out = {}
  local bound = {}
  for _, p in ipairs(row.params) do
    if p.bound then bound[p.bound] = rows.SAMPLE[p.check] end
  end
  local function add(args, opts, b) out[#out + 1] = { b or bound, args, opts } end
  add(rows.args_for(row), nil)
  add({}, nil)
  for _, p in ipairs(row.params) do
    local function with(v)
      local args = rows.args_for(row)
      if row.args == "table" then
        args[1][p.name] = v
        add(args, nil)
      else
        local at
        for i, n in ipairs(row.args) do if n == p.name then at = i end end
        if at then args[at] = v; add(args, nil) end
        add(rows.args_for(row), { [p.name] = v })
      end
    end
    if p.bound then
      for _, v in ipairs(p.enum or {}) do
        local b = {}
        for k, x in pairs(bound) do b[k] = x end
        b[p.bound] = v
        add(rows.args_for(row), nil, b)
      end
      local b = {}
      for k, x in pairs(bound) do b[k] = x end
      b[p.bound] = nil
      add(rows.args_for(row), nil, b)
    elseif p.value == nil then
      for _, v in ipairs(WRONG) do with(v) end
      with(rows.SAMPLE[p.check])
      for _, v in ipairs(p.enum or {}) do with(v) end
    end
  end
  if row.args == "table" then
    add({ "not a table" }, nil)
    add({ { nonsense = 1 } }, nil)
  end
  return out
end

describe("the request plan of each row", function()
  it("is a function that reads no global", function()
    local strict = setmetatable({}, { __index = function(_, k) error("reads the global " .. tostring(k)) end,
      __newindex = function(_, k) error("writes the global " .. tostring(k)) end })
    for _, row in ipairs(operations.rows) do
      local src = plan.source(row)
      local chunk
      if setfenv then -- luacheck: ignore (Lua 5.1, LuaJIT)
        chunk = assert(loadstring(src)) -- luacheck: ignore
        setfenv(chunk, strict) -- luacheck: ignore
      else
        chunk = assert(load(src, row.name, "t", strict))
      end
      assert.is_function(chunk(row, {}, {}, {}, {}, row.answer), row.name)
      -- the handle's values read from the handle, not looked up by name
      assert.is_nil(src:find("bound", 1, true), row.name)
    end
  end)

  it("writes integers exactly from their digits, the largest id and a quantity alike", function()
    local client = proxyshard.new { token = "spec-token", base_url = "http://127.0.0.1:9" }
    local quote
    for _, row in ipairs(operations.rows) do if row.name == "quote" then quote = row end end
    for _, id in ipairs({ 1, 99999999999999, 100000000000000, 9007199254740991 }) do
      local req = plan.request(quote, client:order(id):addon("p0f_slots"), nil, 10000)
      assert.equal(("/user/api/orders/%d/addons/calculate"):format(id), req.path)
      assert.equal("addon_key=p0f_slots&add_qty=10000", req.query)
    end
    -- a float with an integral value is an integer once checked
    local req = plan.request(quote, client:order(12345.0):addon("p0f_slots"), nil, 2.0)
    assert.equal("/user/api/orders/12345/addons/calculate", req.path)
    assert.equal("addon_key=p0f_slots&add_qty=2", req.query)
  end)

  it("makes the request, or refuses the argument, as the row's description says", function()
    local compared = 0
    for _, row in ipairs(operations.rows) do
      for _, c in ipairs(cases(row)) do
        local bound, args, opts = unpack(c)
        local want, want_values = oracle(row, bound, args, opts)
        local got, got_values = rows.request(row, bound, args, opts)
        if want then
          assert.same(want, got, row.name)
          assert.same(want_values, got_values, row.name)
        else
          assert.is_nil(got, row.name)
          assert.equal("invalid_argument", got_values.kind, row.name)
          -- the parameter the oracle found bad first is the one named
          if want_values ~= "params" then
            assert.truthy(tostring(got_values):find(want_values, 1, true), row.name .. ": " .. tostring(got_values))
          end
        end
        compared = compared + 1
      end
    end
    assert.is_true(compared > 600, "only " .. compared .. " cases")
    print(("# request plan: %d cases over %d rows, each as the oracle has it"):format(compared, #operations.rows))
  end)
end)
