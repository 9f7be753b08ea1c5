-- Every enum, minimum and maximum the API document gives a parameter (in
-- the path, the query, the body, or the items of a body's list) is
-- enforced by the row's checks before anything is sent (issue 17, item 1):
-- each value of an enum and each bound itself goes out as given; a value
-- outside the enum, under the minimum or over the maximum is refused
-- (invalid_argument, naming the parameter) with no request made. Read
-- from ../shared/api/openapi-1.1.0.json; skipped when it is absent.
local cjson = require "cjson"
local operations = require "proxyshard.operations"
local validate = require "proxyshard.check.validate"
local rows = require "support.rows"

local DOC = "../shared/api/openapi-1.1.0.json"

local function read_doc()
  local f = io.open(DOC, "r")
  if not f then return nil end
  local doc = cjson.decode(f:read("*a"))
  f:close()
  return doc
end

local doc = read_doc()

local function resolve(s)
  while type(s) == "table" and s["$ref"] do
    local node = doc
    for part in s["$ref"]:gmatch("[^/#]+") do node = node[part] end
    s = node
  end
  return s
end

-- An integral float as an integer (Lua 5.3+), as is where numbers are doubles.
local function integral(x)
  return math.tointeger and math.tointeger(x) or x
end

-- The constraints of a schema, or nil when it has none.
local function bounds_of(schema)
  schema = resolve(schema)
  -- cjson reads every number as a float: the bounds are integers
  local b = { enum = schema.enum ~= cjson.null and schema.enum or nil,
    minimum = schema.minimum and integral(schema.minimum),
    maximum = schema.maximum and integral(schema.maximum) }
  if b.enum or b.minimum or b.maximum then return b end
end

-- The body's properties as { name (wire; "list[].field" inside a list's
-- items), schema }. A `oneOf` counts a constraint only when every variant
-- that has the property has it (the document's generic purchase variant
-- takes any product, so no variant's enum binds the purchase).
local function body_properties(schema)
  schema = resolve(schema)
  local out = {}
  local function walk(s, prefix, into)
    s = resolve(s)
    for name, prop in pairs(s.properties or {}) do
      prop = resolve(prop)
      into[#into + 1] = { name = prefix .. name, schema = prop }
      if prop.type == "array" and prop.items then walk(prop.items, prefix .. name .. "[].", into) end
    end
  end
  if schema.oneOf then
    local by_name, order = {}, {}
    for _, variant in ipairs(schema.oneOf) do
      local props = {}
      walk(variant, "", props)
      for _, p in ipairs(props) do
        if not by_name[p.name] then
          by_name[p.name] = {}
          order[#order + 1] = p.name
        end
        table.insert(by_name[p.name], bounds_of(p.schema) or false)
      end
    end
    for _, name in ipairs(order) do
      local all, common = by_name[name], nil
      for _, b in ipairs(all) do
        if not b then common = false break end
        common = common == nil and { enum = {}, minimum = b.minimum, maximum = b.maximum } or common
        if b.enum then for _, v in ipairs(b.enum) do table.insert(common.enum, v) end else common.enum = nil end
        if common.minimum and (not b.minimum or b.minimum < common.minimum) then common.minimum = b.minimum end
        if common.maximum and (not b.maximum or b.maximum > common.maximum) then common.maximum = b.maximum end
      end
      if common and common.enum and #common.enum == 0 then common.enum = nil end
      out[#out + 1] = { name = name, bounds = common or nil }
    end
    return out
  end
  local props = {}
  walk(schema, "", props)
  for _, p in ipairs(props) do out[#out + 1] = { name = p.name, bounds = bounds_of(p.schema) } end
  return out
end

-- Every constrained parameter of the document: { method, path, name, bounds }.
local function constrained()
  local out = {}
  for path, item in pairs(doc.paths) do
    for method, op in pairs(item) do
      if type(op) == "table" and op.responses then
        local params = {}
        for _, p in ipairs(op.parameters or {}) do params[#params + 1] = resolve(p) end
        for _, p in ipairs(item.parameters or {}) do params[#params + 1] = resolve(p) end
        for _, p in ipairs(params) do
          local b = bounds_of(p.schema or {})
          if b then out[#out + 1] = { method = method:upper(), path = path, name = p.name, bounds = b } end
        end
        local body = op.requestBody and resolve(op.requestBody)
        if body then
          local _, media = next(body.content)
          for _, p in ipairs(body_properties(media.schema)) do
            if p.bounds then
              out[#out + 1] = { method = method:upper(), path = path, name = p.name, bounds = p.bounds }
            end
          end
        end
      end
    end
  end
  table.sort(out, function(a, b) return a.path .. a.method .. a.name < b.path .. b.method .. b.name end)
  return out
end

local function shape(path) return (path:gsub("{[^}]+}", "{}")) end

local function row_for(method, path)
  for _, row in ipairs(operations.rows) do
    if row.method == method and shape(row.path) == shape(path) then return row end
  end
end

-- The row's parameter with the wire name `wire`.
local function param(row, wire)
  for _, p in ipairs(row.params) do
    if (p.wire or p[1]) == wire or p.name == wire then return p end
  end
end

-- The request plan.request makes for `row` with the parameter `name`
-- (wire, or "list[].field") given `value`, all others valid; nil, err when
-- the row refuses it.
local function request_with(row, name, value)
  local list, field = name:match("^(.-)%[%]%.(.+)$")
  local p = param(row, list or name)
  assert(p, row.name .. " has no parameter " .. (list or name))
  if list then
    -- the value inside the first item of the list the caller gives
    if p.check == "signature_items" or p.check == "deletion_items" then
      local item = { ip = "203.0.113.7", signature = "win11", value = true }
      item[field] = value
      if p.check == "signature_items" then item.value = nil else item.signature = nil end
      value = { item }
    elseif p.check == "addons_list" or p.check == "addons_json" then
      if field == "qty" then value = { p0f_slots = value } else value = { [value] = 1 } end
    else
      error("no way to give " .. name .. " to " .. row.name)
    end
  end
  local bound, args, opts = {}, rows.args_for(row), {}
  for _, q in ipairs(row.params) do
    if q.bound then bound[q.bound] = rows.SAMPLE[q.check] end
  end
  if p.bound then
    -- checked when its handle is made; the row's enum then, before sending
    local v, err = validate[p.check](value, p.name)
    if v == nil then return nil, err end
    bound[p.bound] = v
  elseif row.args == "table" then
    args[1][p.name] = value
  else
    local positional
    for i, n in ipairs(row.args) do
      if n == p.name then args[i], positional = value, true end
    end
    if not positional then opts[p.name] = value end
  end
  return rows.request(row, bound, args, opts)
end

-- What the request carries for the parameter: the query's text, or the body's value.
local function sent(req, row, name)
  local list, field = name:match("^(.-)%[%]%.(.+)$")
  local p = param(row, list or name)
  local wire = p.wire or p[1]
  if p.at == "query" then
    return ("&" .. (req.query or "")):match("&" .. wire .. "=([^&]*)")
  end
  if p.at == "body" then
    local v = req.body[wire]
    if list then v = v[1][field] end
    return v
  end
  return req.path
end

local function refused(row, name, value)
  local req, err = request_with(row, name, value)
  assert.is_nil(req, ("%s %s = %s was not refused"):format(row.name, name, tostring(value)))
  assert.are.equal("invalid_argument", err.kind)
  return err
end

local function taken(row, name, value)
  local req, err = request_with(row, name, value)
  assert.is_table(req, ("%s %s = %s was refused: %s"):format(row.name, name, tostring(value), tostring(err)))
  return req
end

describe("the document's enums and bounds", function()
  if not doc then
    pending("the API document is not at " .. DOC .. ": skipped")
    return
  end

  local cases = constrained()

  it("are many and each belongs to a row", function()
    -- items[].signature, add_qty (quote and purchase), action, next_qty, the purchase's quantity and
    -- addons[].qty, the order list's offset and limit, isps' proxy_type (the purchase's product has
    -- none: the document's generic variant takes any, docs/openapi-checks.md)
    assert.are.equal(10, #cases)
    for _, c in ipairs(cases) do
      assert.is_table(row_for(c.method, c.path), c.method .. " " .. c.path .. " has no row")
    end
  end)

  for _, c in ipairs(cases) do
    local row = row_for(c.method, c.path)
    local title = ("%s %s: %s"):format(c.method, c.path, c.name)
    local p = row and param(row, c.name:match("^(.-)%[%]") or c.name)

    if c.bounds.enum and p and p.value ~= nil then
      it(title .. " is a constant the row sends, one of the enum", function()
        local found = false
        for _, v in ipairs(c.bounds.enum) do found = found or v == p.value end
        assert.is_true(found, tostring(p.value))
      end)
    elseif c.bounds.enum then
      it(title .. " takes each value of the enum and refuses any other", function()
        for _, v in ipairs(c.bounds.enum) do
          local req = taken(row, c.name, v)
          assert.are.equal(v, sent(req, row, c.name))
        end
        local err = refused(row, c.name, "not-in-the-enum")
        local leaf = c.name:match("[%w_]+$")
        assert.is_truthy(tostring(err.argument):find(leaf, 1, true), tostring(err.argument))
        -- a value the validator takes for other operations, but this one's enum does not
        if p.check == "proxy_type" then
          for _, other in ipairs(validate.PROXY_TYPES) do
            local listed = false
            for _, v in ipairs(c.bounds.enum) do listed = listed or v == other end
            if not listed then refused(row, c.name, other) end
          end
        end
      end)
    end

    if c.bounds.minimum then
      it(title .. " takes its minimum " .. c.bounds.minimum .. " and refuses one less", function()
        local req = taken(row, c.name, c.bounds.minimum)
        assert.are.equal(tostring(c.bounds.minimum), tostring(sent(req, row, c.name)))
        refused(row, c.name, c.bounds.minimum - 1)
      end)
    end

    if c.bounds.maximum then
      it(title .. " takes its maximum " .. c.bounds.maximum .. " and refuses one more", function()
        local req = taken(row, c.name, c.bounds.maximum)
        assert.are.equal(tostring(c.bounds.maximum), tostring(sent(req, row, c.name)))
        refused(row, c.name, c.bounds.maximum + 1)
      end)
    end
  end
end)
