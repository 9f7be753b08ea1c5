-- Every answer of the sandbox against the response schemas of the API
-- document (openapi-1.1.0.json in ../shared/api next to the checkout, or the
-- file named by $PROXYSHARD_OPENAPI): required fields present, types as
-- documented, null only where the document allows it, enum values known.
-- Error answers are checked against the documented error schema of their
-- status, else ApiError (the error shape the whole API uses). Every one of
-- the 34 operations is answered, with success and with an error.

local cjson = require "cjson"
local State = require "proxyshard.sandbox.world.state"
local caller = require "proxyshard.sandbox.caller"
local fixture = require "proxyshard.sandbox.world.fixture"
local operations = require "proxyshard.operations"

local ROOT = debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$") or "."
local DOC_FILE = os.getenv("PROXYSHARD_OPENAPI") or (ROOT .. "/../shared/api/openapi-1.1.0.json")
local TOKEN = "sandbox-token"
local ORDER = "/user/api/orders/"
local SUB = "/user/api/proxies/sub-user/"

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

-- The documented answer of `status`: its JSON schema, false when the
-- document gives it no body (the health probes), ApiError for an error the
-- document does not list.
local function response_schema(doc, path, method, status)
  local op = assert(doc.paths[path] and doc.paths[path][method:lower()], method .. " " .. path .. " undocumented")
  local r = op.responses[tostring(status)]
  if r and not r.content then return false end
  local content = r and r.content and r.content["application/json"]
  if content then return content.schema end
  if status >= 400 then return { ["$ref"] = "#/components/schemas/ApiError" } end
  error(("%s %s: no documented schema for %d"):format(method, path, status))
end

-- The problems of one answer, as a list of lines.
local function problems_of(doc, path, method, res)
  local schema = response_schema(doc, path, method, res.status)
  if schema == false then return {} end
  assert.are.equal("application/json", res.headers["content-type"])
  local problems, empties = {}, {}
  check(doc, schema, cjson.decode(res.body), ("%s %s -> %d: body"):format(method, path, res.status),
    problems, empties)
  for _, name in ipairs(empties) do
    if not res.body:find('"' .. name .. '":[]', 1, true) then
      problems[#problems + 1] = name .. " is an empty array in the document but not written as []"
    end
  end
  return problems
end

local doc = read_doc()

describe("sandbox answers against the API document's response schemas", function()
  if not doc then
    pending("no API document at " .. DOC_FILE .. " (set PROXYSHARD_OPENAPI)")
    return
  end

  local sb, c, seen
  before_each(function()
    sb = State.new { token = TOKEN }
    c = caller.new(sb)
    seen = {}
  end)

  -- `path` as the document names it; `res` the sandbox's answer.
  local function expect_conforming(path, method, res, status)
    assert.are.equal(status, res.status, res.body)
    local problems = problems_of(doc, path, method, res)
    assert.are.same({}, problems, table.concat(problems, "\n"))
    seen[method .. " " .. path] = true
  end

  -- Every operation of the table was answered.
  local function expect_all_seen()
    local missing = {}
    for _, row in ipairs(operations.rows) do
      if not seen[row.method .. " " .. row.path] then missing[#missing + 1] = row.method .. " " .. row.path end
    end
    assert.are.same({}, missing)
  end

  it("the answers of every operation", function()
    local ok = function(path, method, res) expect_conforming(path, method, res, 200) end
    ok("/user/api/me", "GET", c:get("/user/api/me"))
    ok("/user/api/proxies/products", "GET", c:get("/user/api/proxies/products"))
    ok("/user/api/proxies/available-count", "GET", c:get("/user/api/proxies/available-count"))
    local new_order = { product = "Datacenter Proxy", location = "DE", cycle = "monthly", quantity = 2,
      promo_code = "SAVE10" }
    ok("/user/api/orders/calculate", "GET", c:get("/user/api/orders/calculate", {
      product = "Datacenter Proxy", location = "DE", cycle = "monthly", quantity = 2, promo_code = "SAVE10",
      addons_json = '[{"addon_key":"p0f_slots","qty":1}]' }))
    new_order.addons = { { addon_key = "p0f_slots", qty = 1 } }
    local bought = c:post("/user/api/orders/purchase", new_order)
    ok("/user/api/orders/purchase", "POST", bought)
    ok("/user/api/orders/purchase", "POST", c:post("/user/api/orders/purchase",
      { product = "Premium Residential Proxy", quantity = 1 }))
    -- first, middle and last page: prev and next null or URIs
    for _, offset in ipairs { 0, 2, 6 } do
      ok("/user/api/orders", "GET", c:get("/user/api/orders", { status = "all", offset = offset, limit = 2 }))
    end
    ok("/user/api/orders", "GET", c:get("/user/api/orders", { status = "cancelled" }))
    for _, o in ipairs(sb.data.orders) do
      ok("/user/api/orders/{id}", "GET", c:get(ORDER .. o.order_id))
    end
    for _, id in ipairs { 12345, 12346, 12347, 12348, bought.json.order_id } do
      ok("/user/api/proxies/active", "GET", c:get("/user/api/proxies/active", { order_id = id }))
    end

    local p = "/user/api/orders/{order_id}"
    ok(p .. "/addons/calculate", "GET", c:get(ORDER .. "12347/addons/calculate", { addon_key = "p0f_slots",
      add_qty = 2 }))
    ok(p .. "/addons/purchase", "POST", c:post(ORDER .. "12347/addons/purchase", { addon_key = "p0f_slots",
      add_qty = 2 }))
    ok(p .. "/addons/schedule", "POST", c:post(ORDER .. "12345/addons/schedule",
      { addon_key = "p0f_slots", action = "downgrade", next_qty = 1 }))
    -- a pending downgrade makes `pending` an object rather than null
    ok("/user/api/orders/{id}", "GET", c:get(ORDER .. "12345"))
    ok(p .. "/addons/schedule/cancel", "POST", c:post(ORDER .. "12345/addons/schedule/cancel",
      { addon_key = "p0f_slots" }))
    ok(p .. "/signature/set", "POST", c:post(ORDER .. "12345/signature/set",
      { items = { { ip = "203.0.113.11", signature = "win11" } } }))
    -- now with two signed IPs
    ok("/user/api/proxies/active", "GET", c:get("/user/api/proxies/active", { order_id = 12345 }))
    ok(p .. "/del-np/set", "POST", c:post(ORDER .. "12345/del-np/set", { items = { { ip = "203.0.113.14",
      value = true } } }))
    ok("/user/api/orders/{id}/renew", "POST", c:post(ORDER .. "12346/renew"))
    ok("/user/api/orders/{id}/tag", "POST", c:post(ORDER .. "12347/tag", { tag = "crawlers" }))
    ok("/user/api/orders/change-billing-cycle/{order_id}", "POST",
      c:post("/user/api/orders/change-billing-cycle/12347", { cycle = "quarterly" }))
    ok("/user/api/orders/edit-auto-renewal/{order_id}", "POST",
      c:post("/user/api/orders/edit-auto-renewal/12347", {}, { auto_renewal = "true" }))
    ok("/user/api/orders/{id}/add-bandwidth", "POST", c:post(ORDER .. "12400/add-bandwidth",
      { amount = 5, promo_code = "SAVE10" }))

    for _, t in ipairs { "standart", "premium" } do
      local q = { proxy_type = t }
      ok("/user/api/proxies/profile", "GET", c:get("/user/api/proxies/profile", q))
      ok("/user/api/proxies/sub-users", "GET", c:get("/user/api/proxies/sub-users", q))
      ok("/user/api/proxies/countries", "GET", c:get("/user/api/proxies/countries", q))
      ok("/user/api/proxies/regions", "GET", c:get("/user/api/proxies/regions",
        { proxy_type = t, country_code = "DE" }))
      ok("/user/api/proxies/cities", "GET", c:get("/user/api/proxies/cities",
        { proxy_type = t, country_code = "US", region_code = "CA" }))
    end
    for _, city in ipairs { { "DE", "BE", "berlin" }, { "US", "CA", "los-angeles" } } do
      ok("/user/api/proxies/isps", "GET", c:get("/user/api/proxies/isps",
        { proxy_type = "premium", country_code = city[1], region_code = city[2], city_code = city[3] }))
    end
    local premium = { proxy_type = "premium" }
    local created = c:post("/user/api/proxies/sub-user", { name = "team-c", data = 2 }, premium)
    ok("/user/api/proxies/sub-user", "POST", created)
    local id = created.json.data[1].user_id
    local u = "/user/api/proxies/sub-user/{user_id}"
    ok(u, "GET", c:get(SUB .. id, premium))
    ok(u, "PATCH", c:patch(SUB .. id, { name = "team-d" }, premium))
    ok(u .. "/data/add", "POST", c:post(SUB .. id .. "/data/add", { data = 1 }, premium))
    ok(u .. "/data/subtract", "POST", c:post(SUB .. id .. "/data/subtract", { data = 2 }, premium))
    ok(u .. "/password", "POST", c:post(SUB .. id .. "/password", nil, premium))
    ok(u, "DELETE", c:delete(SUB .. id))
    ok("/health", "GET", c:request { method = "GET", path = "/health", headers = {} })
    ok("/health/live", "GET", c:request { method = "GET", path = "/health/live", headers = {} })
    expect_all_seen()
  end)

  it("its error answers, for every operation", function()
    local function refused(status, path, method, res) expect_conforming(path, method, res, status) end
    local p = "/user/api/orders/{order_id}"
    local u = "/user/api/proxies/sub-user/{user_id}"
    local premium = { proxy_type = "premium" }
    refused(401, "/user/api/me", "GET", c:request { method = "GET", path = "/user/api/me", headers = {} })
    refused(401, "/user/api/proxies/products", "GET", c:request { method = "GET",
      path = "/user/api/proxies/products", headers = { authorization = "Bearer nope" } })
    refused(401, "/user/api/proxies/available-count", "GET", caller.new(sb, "nope"):get(
      "/user/api/proxies/available-count"))
    refused(400, "/user/api/orders/calculate", "GET", c:get("/user/api/orders/calculate", { product = "Gold" }))
    refused(400, "/user/api/orders/purchase", "POST", c:post("/user/api/orders/purchase",
      { product = "Datacenter Proxy", location = "DE", cycle = "monthly", quantity = 400 }))
    refused(400, "/user/api/orders", "GET", c:get("/user/api/orders", { status = "open" }))
    refused(404, "/user/api/orders/{id}", "GET", c:get(ORDER .. "999"))
    refused(400, "/user/api/proxies/active", "GET", c:get("/user/api/proxies/active", "order_id=x"))
    refused(403, "/user/api/proxies/active", "GET", c:get("/user/api/proxies/active", { order_id = 12400 }))
    refused(400, p .. "/addons/calculate", "GET", c:get(ORDER .. "12345/addons/calculate",
      "addon_key=p0f_slots&add_qty=0"))
    refused(400, p .. "/addons/purchase", "POST", c:post(ORDER .. "12345/addons/purchase",
      { addon_key = "p0f_slots", add_qty = 400 }))
    refused(400, p .. "/addons/schedule", "POST", c:post(ORDER .. "12345/addons/schedule",
      { addon_key = "p0f_slots", action = "upgrade", next_qty = 1 }))
    refused(400, p .. "/addons/schedule/cancel", "POST", c:post(ORDER .. "12345/addons/schedule/cancel",
      { addon_key = "p0f_slots" }))
    refused(400, p .. "/signature/set", "POST", c:post(ORDER .. "12345/signature/set", "{}"))
    refused(400, p .. "/del-np/set", "POST", c:post(ORDER .. "12347/del-np/set", { items = {
      { ip = "198.51.100.20", value = true }, { ip = "198.51.100.21", value = true } } }))
    refused(400, "/user/api/orders/{id}/renew", "POST", c:post(ORDER .. "12345/renew"))
    refused(400, "/user/api/orders/{id}/tag", "POST", c:post(ORDER .. "12345/tag", {}))
    refused(400, "/user/api/orders/change-billing-cycle/{order_id}", "POST",
      c:post("/user/api/orders/change-billing-cycle/12345", { cycle = "weekly" }))
    refused(400, "/user/api/orders/edit-auto-renewal/{order_id}", "POST",
      c:post("/user/api/orders/edit-auto-renewal/12400", {}, { auto_renewal = "true" }))
    refused(400, "/user/api/orders/{id}/add-bandwidth", "POST", c:post(ORDER .. "12345/add-bandwidth",
      { amount = 5 }))
    refused(400, "/user/api/proxies/profile", "GET", c:get("/user/api/proxies/profile",
      { proxy_type = "standard" }))
    refused(400, "/user/api/proxies/sub-users", "GET", c:get("/user/api/proxies/sub-users",
      { proxy_type = "premium", limit = 101 }))
    refused(400, "/user/api/proxies/sub-user", "POST", c:post("/user/api/proxies/sub-user",
      { name = "greedy", data = 1000 }, premium))
    refused(404, u, "GET", c:get(SUB .. "u-3", premium))
    refused(400, u, "PATCH", c:patch(SUB .. "u-1", { name = "" }, premium))
    refused(404, u, "DELETE", c:delete(SUB .. "u-99"))
    refused(400, u .. "/data/add", "POST", c:post(SUB .. "u-1/data/add", { data = 1000 }, premium))
    refused(400, u .. "/data/subtract", "POST", c:post(SUB .. "u-2/data/subtract", { data = 1 }, premium))
    refused(400, u .. "/password", "POST", c:post(SUB .. "u-1/password"))
    refused(400, "/user/api/proxies/countries", "GET", c:get("/user/api/proxies/countries"))
    refused(400, "/user/api/proxies/regions", "GET", c:get("/user/api/proxies/regions", premium))
    refused(400, "/user/api/proxies/cities", "GET", c:get("/user/api/proxies/cities",
      { proxy_type = "premium", country_code = "DE" }))
    refused(400, "/user/api/proxies/isps", "GET", c:get("/user/api/proxies/isps",
      { proxy_type = "standart", country_code = "DE", region_code = "BE", city_code = "berlin" }))
    refused(405, "/user/api/me", "GET", c:request { method = "DELETE", path = "/user/api/me" })
    refused(405, "/health", "GET", c:request { method = "POST", path = "/health", headers = {} })
    refused(405, "/health/live", "GET", c:request { method = "PUT", path = "/health/live", headers = {} })
    expect_all_seen()
  end)

  it("403 on an order that is not Datacenter or ISP", function()
    local f = { account = fixture.account, catalog = fixture.catalog, products = fixture.products, orders = { {
      order_id = 1, product_name = "Premium Residential Proxy", cycle_name = "lifetime",
      status = "active", quantity = 1, price_paid = 100, ips = {},
    } } }
    local other = caller.new(State.new { fixture = f, token = TOKEN })
    expect_conforming("/user/api/proxies/active", "GET", other:get("/user/api/proxies/active", "order_id=1"), 403)
    expect_conforming("/user/api/orders/{id}", "GET", other:get(ORDER .. "1"), 200)
  end)

  it("an injected fault's default error body", function()
    sb:handle { method = "POST", path = "/_sandbox/faults", body = '{"path":"/user/api/me","status":503}' }
    expect_conforming("/user/api/me", "GET", c:get("/user/api/me"), 503)
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
