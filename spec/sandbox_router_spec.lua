-- The sandbox's routes, made from the operation table: literal segments
-- beat parameters, ids are digits, 404 and 405 (with Allow), and the token
-- checked where the row wants it.
local router = require "proxyshard.sandbox.router"
local operations = require "proxyshard.operations"
local State = require "proxyshard.sandbox.world.state"
local caller = require "proxyshard.sandbox.caller"

local r = router.new()

local function route_of(method, path)
  local found, miss = r:match(method, path)
  if not found then return miss end
  return { key = found.row.handle .. "." .. found.row.name, path = found.path }
end

describe("sandbox router", function()
  it("never takes /orders/purchase or /orders/calculate for /orders/{id}", function()
    assert.are.same({ key = "client.purchase_order", path = {} }, route_of("POST", "/user/api/orders/purchase"))
    assert.are.same({ key = "client.quote_order", path = {} }, route_of("GET", "/user/api/orders/calculate"))
    -- the literal path is there, only not for this method: 405, not the order
    assert.are.same({ status = 405, allow = "POST" }, route_of("GET", "/user/api/orders/purchase"))
    assert.are.same({ status = 405, allow = "GET" }, route_of("POST", "/user/api/orders/calculate"))
    assert.are.same({ key = "order.fetch", path = { id = "12345" } }, route_of("GET", "/user/api/orders/12345"))
  end)

  it("takes digits only for an id, and any one segment for a sub-user id", function()
    for _, id in ipairs { "abc", "-1", "12.5", "1e3", "%31", "" } do
      assert.are.same({ status = 404 }, route_of("GET", "/user/api/orders/" .. id), id)
    end
    assert.are.same({ key = "order.change_cycle", path = { order_id = "7" } },
      route_of("POST", "/user/api/orders/change-billing-cycle/7"))
    assert.are.same({ status = 404 }, route_of("POST", "/user/api/orders/change-billing-cycle/x"))
    assert.are.same({ key = "sub_user.rename", path = { user_id = "team.a-1" } },
      route_of("PATCH", "/user/api/proxies/sub-user/team.a-1"))
    assert.are.same({ key = "sub_user.add_data", path = { user_id = "u-1" } },
      route_of("POST", "/user/api/proxies/sub-user/u-1/data/add"))
    -- /orders/{id}/renew and /orders/{order_id}/del-np/set share the segment
    assert.are.same({ key = "order.renew", path = { id = "5" } }, route_of("POST", "/user/api/orders/5/renew"))
    assert.are.same({ key = "order.set_deletion", path = { order_id = "5" } },
      route_of("POST", "/user/api/orders/5/del-np/set"))
  end)

  it("answers 405 with every method of the path, and 404 for no path", function()
    assert.are.same({ status = 405, allow = "DELETE, GET, PATCH" },
      route_of("POST", "/user/api/proxies/sub-user/u-1"))
    assert.are.same({ status = 405, allow = "POST" }, route_of("GET", "/user/api/proxies/sub-user"))
    assert.are.same({ status = 405, allow = "GET" }, route_of("HEAD", "/health"))
    for _, path in ipairs { "/user/api/orders/12345/", "/user/api/nothing", "/", "", "user/api/me",
      "/user/api/orders/12345/addons", "/health/live/more" } do
      assert.are.same({ status = 404 }, route_of("GET", path), path)
    end
  end)

  it("routes every row of the table to itself", function()
    for _, row in ipairs(operations.rows) do
      local path = row.path:gsub("{([%w_]+)}", function(name) return name == "user_id" and "u-1" or "42" end)
      local found = assert(r:match(row.method, path), row.method .. " " .. path)
      assert.are.equal(row, found.row, row.method .. " " .. path)
    end
  end)

  it("refuses a table with two rows for one method and path", function()
    local row = operations.find("client", "me")
    local ok, why = pcall(router.new, { row, row })
    assert.is_false(ok)
    assert.truthy(tostring(why):find("two operations for GET /user/api/me", 1, true), tostring(why))
  end)
end)

describe("sandbox routing in the state", function()
  local c
  before_each(function() c = caller.new(State.new()) end)

  local function message(res)
    return res.json and res.json.message
  end

  it("answers /orders/purchase and /orders/calculate, never as an order", function()
    local res = c:get("/user/api/orders/purchase")
    assert.are.same({ 405, "POST", "Method not allowed" }, { res.status, res.headers.allow, message(res) })
    res = c:get("/user/api/orders/calculate", { product = "Datacenter Proxy", cycle = "monthly" })
    assert.are.equal(200, res.status)
    assert.are.equal(300, res.json.final_price)
  end)

  it("checks the token before 404 and 405 under /user/api/, and on no other path", function()
    local stranger = caller.new(c.sb, "nope")
    for _, case in ipairs { { "GET", "/user/api/me" }, { "GET", "/user/api/nothing" }, { "POST", "/user/api/me" } } do
      local res = stranger:request { method = case[1], path = case[2], body = case[1] == "POST" and "{}" or nil }
      assert.are.same({ 401, "Unauthorized" }, { res.status, message(res) }, case[2])
    end
    assert.are.same({ 404, "Not found" }, { stranger:get("/elsewhere").status, message(stranger:get("/elsewhere")) })
  end)

  it("serves /health and /health/live without a token", function()
    for _, path in ipairs { "/health", "/health/live" } do
      local res = c:request { method = "GET", path = path, headers = {} }
      assert.are.same({ 200, "Service is up" }, { res.status, res.body })
      assert.are.equal("text/plain; charset=utf-8", res.headers["content-type"])
    end
    local res = c:request { method = "POST", path = "/health", headers = {} }
    assert.are.same({ 405, "GET" }, { res.status, res.headers.allow })
  end)
end)
