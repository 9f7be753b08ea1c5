-- Every answer of the sandbox against the response schemas of the API
-- document (openapi-1.1.0.json in ../shared/api next to the checkout, or the
-- file named by $PROXYSHARD_OPENAPI): required fields present, types as
-- documented, null only where the document allows it, enum values known.
-- Error answers are checked against the documented error schema of their
-- status, else ApiError (the error shape the whole API uses).

local cjson = require "cjson"
local json = require "proxyshard.json"
local State = require "proxyshard.sandbox.state"
local fixture = require "proxyshard.sandbox.fixture"

local ROOT = debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$") or "."
local DOC_FILE = os.getenv("PROXYSHARD_OPENAPI") or (ROOT .. "/../shared/api/openapi-1.1.0.json")
local TOKEN = "sandbox-token"
local ORDER = "/user/api/orders/"

local function read_doc()
  local f = io.open(DOC_FILE, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return cjson.decode(text)
end

local function resolve(doc, schema)
  while schema["$ref"] do
    local name = assert(schema["$ref"]:match("^#/components/schemas/(.+)$"), schema["$ref"])
    schema = assert(doc.components.schemas[name], "no schema " .. name)
  end
  return schema
end

-- cjson decodes `[]` and `{}` alike (and every number as a float), so an
-- array is a table with keys 1..n, an object one without integer keys, an
-- integer a number with an integral value.
local function is_array(v)
  if type(v) ~= "table" then return false end
  local n = 0
  for k in pairs(v) do
    if math.type(k) ~= "integer" then return false end
    n = n + 1
  end
  return n == #v
end

local TYPES = {
  string = function(v) return type(v) == "string" end,
  integer = function(v) return type(v) == "number" and math.tointeger(v) ~= nil end,
  number = function(v) return type(v) == "number" end,
  boolean = function(v) return type(v) == "boolean" end,
  array = is_array,
  object = function(v) return type(v) == "table" and (next(v) == nil or not is_array(v)) end,
}

local function contains(list, v)
  for _, x in ipairs(list) do
    if x == v then return true end
  end
  return false
end

-- Appends one line per place where `value` breaks `schema`; `empties`
-- collects the names of empty arrays, to be looked for in the raw text.
local function check(doc, schema, value, where, problems, empties)
  schema = resolve(doc, schema)
  if value == cjson.null then
    if not schema.nullable then problems[#problems + 1] = where .. " is null" end
    return
  end
  local t = schema.type or (schema.properties and "object")
  if t and not TYPES[t](value) then
    problems[#problems + 1] = ("%s is %s, not %s"):format(where, cjson.encode(value), t)
    return
  end
  if schema.enum and not contains(schema.enum, value) then
    problems[#problems + 1] = ("%s = %s is not one of the enum"):format(where, tostring(value))
  end
  if t == "object" then
    for _, name in ipairs(schema.required or {}) do
      if value[name] == nil then problems[#problems + 1] = where .. "." .. name .. " is missing" end
    end
    for name, sub in pairs(schema.properties or {}) do
      if value[name] ~= nil then check(doc, sub, value[name], where .. "." .. name, problems, empties) end
    end
  elseif t == "array" then
    if #value == 0 then empties[#empties + 1] = where:match("([%w_]+)$") end
    for i, item in ipairs(value) do
      check(doc, schema.items, item, ("%s[%d]"):format(where, i), problems, empties)
    end
  end
end

local function response_schema(doc, path, method, status)
  local op = assert(doc.paths[path] and doc.paths[path][method:lower()], method .. " " .. path .. " undocumented")
  local r = op.responses[tostring(status)]
  local content = r and r.content and r.content["application/json"]
  if content then return content.schema end
  if status >= 400 then return { ["$ref"] = "#/components/schemas/ApiError" } end
  error(("%s %s: no documented schema for %d"):format(method, path, status))
end

-- The problems of one answer, as a list of lines.
local function problems_of(doc, path, method, res)
  assert.are.equal("application/json", res.headers["content-type"])
  local problems, empties = {}, {}
  check(doc, response_schema(doc, path, method, res.status), cjson.decode(res.body),
    ("%s %s -> %d: body"):format(method, path, res.status), problems, empties)
  for _, name in ipairs(empties) do
    if not res.body:find('"' .. name .. '":[]', 1, true) then
      problems[#problems + 1] = name .. " is an empty array in the document but not written as []"
    end
  end
  return problems
end

local function auth(extra)
  local h = { authorization = "Bearer " .. TOKEN }
  for k, v in pairs(extra or {}) do h[k] = v end
  return h
end

local function get(sb, path, query, headers)
  return sb:handle { method = "GET", path = path, query = query, headers = headers or auth() }
end

local function post(sb, path, body)
  body = type(body) == "table" and json.encode(body) or body
  return sb:handle { method = "POST", path = path, body = body,
    headers = auth { ["content-type"] = "application/json", ["content-length"] = tostring(#body) } }
end

local doc = read_doc()

describe("sandbox answers against the API document's response schemas", function()
  if not doc then
    pending("no API document at " .. DOC_FILE .. " (set PROXYSHARD_OPENAPI)")
    return
  end

  local sb, seen
  before_each(function()
    sb = State.new { token = TOKEN }
    seen = {}
  end)

  -- `path` as the document names it; `res` the sandbox's answer.
  local function expect_conforming(path, method, res, status)
    assert.are.equal(status, res.status, res.body)
    local problems = problems_of(doc, path, method, res)
    assert.are.same({}, problems, table.concat(problems, "\n"))
    seen[#seen + 1] = method .. " " .. path
  end

  it("the answers of every route the sandbox serves", function()
    expect_conforming("/user/api/me", "GET", get(sb, "/user/api/me"), 200)
    for _, id in ipairs { "12345", "12346", "12347" } do
      expect_conforming("/user/api/orders/{id}", "GET", get(sb, ORDER .. id), 200)
      expect_conforming("/user/api/proxies/active", "GET",
        get(sb, "/user/api/proxies/active", "order_id=" .. id), 200)
    end
    local p = "/user/api/orders/{order_id}"
    expect_conforming(p .. "/addons/calculate", "GET",
      get(sb, ORDER .. "12347/addons/calculate", "addon_key=p0f_slots&add_qty=2"), 200)
    expect_conforming(p .. "/addons/purchase", "POST",
      post(sb, ORDER .. "12347/addons/purchase", { addon_key = "p0f_slots", add_qty = 2 }), 200)
    expect_conforming(p .. "/addons/schedule", "POST", post(sb, ORDER .. "12345/addons/schedule",
      { addon_key = "p0f_slots", action = "downgrade", next_qty = 1 }), 200)
    -- a pending downgrade makes `pending` an object rather than null
    expect_conforming("/user/api/orders/{id}", "GET", get(sb, ORDER .. "12345"), 200)
    expect_conforming(p .. "/addons/schedule/cancel", "POST",
      post(sb, ORDER .. "12345/addons/schedule/cancel", { addon_key = "p0f_slots" }), 200)
    expect_conforming(p .. "/signature/set", "POST", post(sb, ORDER .. "12345/signature/set",
      { items = json.array { { ip = "203.0.113.11", signature = "win11" } } }), 200)
    -- now with two signed IPs
    expect_conforming("/user/api/proxies/active", "GET", get(sb, "/user/api/proxies/active", "order_id=12345"), 200)
    local routes = {}
    for _, r in ipairs(seen) do routes[r] = true end
    assert.are.same({
      ["GET /user/api/me"] = true, ["GET /user/api/orders/{id}"] = true,
      ["GET /user/api/proxies/active"] = true, ["GET " .. p .. "/addons/calculate"] = true,
      ["POST " .. p .. "/addons/purchase"] = true, ["POST " .. p .. "/addons/schedule"] = true,
      ["POST " .. p .. "/addons/schedule/cancel"] = true, ["POST " .. p .. "/signature/set"] = true,
    }, routes)
  end)

  it("its error answers", function()
    local p = "/user/api/orders/{order_id}"
    expect_conforming("/user/api/me", "GET", get(sb, "/user/api/me", nil, {}), 401)
    expect_conforming("/user/api/orders/{id}", "GET", get(sb, ORDER .. "999"), 404)
    expect_conforming("/user/api/proxies/active", "GET", get(sb, "/user/api/proxies/active", "order_id=x"), 400)
    expect_conforming(p .. "/addons/calculate", "GET",
      get(sb, ORDER .. "12345/addons/calculate", "addon_key=p0f_slots&add_qty=0"), 400)
    expect_conforming(p .. "/addons/purchase", "POST",
      post(sb, ORDER .. "12345/addons/purchase", { addon_key = "p0f_slots", add_qty = 400 }), 400)
    expect_conforming(p .. "/addons/schedule", "POST", post(sb, ORDER .. "12345/addons/schedule",
      { addon_key = "p0f_slots", action = "upgrade", next_qty = 1 }), 400)
    expect_conforming(p .. "/addons/schedule/cancel", "POST",
      post(sb, ORDER .. "12345/addons/schedule/cancel", { addon_key = "p0f_slots" }), 400)
    expect_conforming(p .. "/signature/set", "POST", post(sb, ORDER .. "12345/signature/set", "{}"), 400)
    expect_conforming("/user/api/me", "GET", sb:handle { method = "DELETE", path = "/user/api/me",
      headers = auth() }, 405)
  end)

  it("403 on an order that is not Datacenter or ISP", function()
    local f = { account = fixture.account, catalog = fixture.catalog, orders = { {
      order_id = 1, product_name = "Premium Residential Proxy", cycle_name = "lifetime",
      status = "active", quantity = 1, price_paid = 100, ips = {},
    } } }
    local other = State.new { fixture = f, token = TOKEN }
    expect_conforming("/user/api/proxies/active", "GET", get(other, "/user/api/proxies/active", "order_id=1"), 403)
    expect_conforming("/user/api/orders/{id}", "GET", get(other, ORDER .. "1"), 200)
  end)

  it("an injected fault's default error body", function()
    sb:handle { method = "POST", path = "/_sandbox/faults", body = '{"path":"/user/api/me","status":503}' }
    expect_conforming("/user/api/me", "GET", get(sb, "/user/api/me"), 503)
  end)

  it("finds what it is for: a null `until`, a missing field, a string for an integer", function()
    local item = { ip = "203.0.113.10", username = "u", password = "p", http_port = 8001,
      socks_port = "9001", status = "active", ["until"] = cjson.null }
    local res = { status = 200, headers = { ["content-type"] = "application/json" },
      body = cjson.encode { data = { item } } }
    local problems = problems_of(doc, "/user/api/proxies/active", "GET", res)
    table.sort(problems)
    assert.are.same({
      "GET /user/api/proxies/active -> 200: body.data[1].socks_port is \"9001\", not integer",
      "GET /user/api/proxies/active -> 200: body.data[1].until is null",
      "GET /user/api/proxies/active -> 200: body.success is missing",
    }, problems)
  end)
end)
