-- Parameters read by the operation table, in one style of message:
-- "Invalid query|body|path: <the client's own validator's words>".
local State = require "proxyshard.sandbox.world.state"
local caller = require "proxyshard.sandbox.caller"
local validate = require "proxyshard.check.validate"

local ORDER = "/user/api/orders/"
local SUB = "/user/api/proxies/sub-user/"
local PREMIUM = { proxy_type = "premium" }

describe("sandbox parameters", function()
  local c
  before_each(function() c = caller.new(State.new()) end)

  local function refused(res, status)
    assert.are.equal(status or 400, res.status, res.body)
    assert.are.equal(false, res.json.success)
    return res.json.message
  end

  it("reads query integers and booleans, with the client's limits", function()
    local orders = "/user/api/orders"
    assert.are.equal(("Invalid query: limit must be an integer from 1 to %d, got %d"):format(validate.MAX_LIMIT,
      validate.MAX_LIMIT + 1), refused(c:get(orders, { status = "all", limit = validate.MAX_LIMIT + 1 })))
    assert.are.equal(200, c:get(orders, { status = "all", limit = validate.MAX_LIMIT }).status)
    assert.are.equal("Invalid query: offset must be an integer >= 0, got -1",
      refused(c:get(orders, { status = "all", offset = -1 })))
    assert.are.equal('Invalid query: offset must be an integer >= 0, got "1.0"',
      refused(c:get(orders, "status=all&offset=1.0")))
    assert.are.equal("Invalid query: status is required", refused(c:get(orders)))
    assert.are.equal('Invalid query: status must be one of active, on-hold, cancelled, all, got "open"',
      refused(c:get(orders, { status = "open" })))

    local renewal = "/user/api/orders/edit-auto-renewal/12345"
    assert.are.equal('Invalid query: auto_renewal must be true or false, got "yes"',
      refused(c:post(renewal, {}, { auto_renewal = "yes" })))
    assert.are.equal("Invalid query: auto_renewal is required", refused(c:post(renewal, {})))
    assert.are.equal(200, c:post(renewal, {}, { auto_renewal = "false" }).status)
    assert.are.equal(false, c:get(ORDER .. "12345").json.order.auto_renewal)
  end)

  it("reads body fields by their wire names, with the client's limits", function()
    local bandwidth = ORDER .. "12400/add-bandwidth"
    assert.are.equal(("Invalid body: amount must be a whole number of GB from 1 to %d, got %d"):format(
      validate.MAX_GB, validate.MAX_GB + 1), refused(c:post(bandwidth, { amount = validate.MAX_GB + 1 })))
    -- `gb` is the Lua name; the API's is `amount`
    assert.are.equal("Invalid body: amount is required", refused(c:post(bandwidth, { gb = 5 })))
    assert.are.equal('Invalid body: tag must be a non-empty text of at most 255 characters without control '
      .. 'characters, got "a\\\nb"', refused(c:post(ORDER .. "12345/tag", { tag = "a\nb" })))
    assert.are.equal('Invalid body: action must be "downgrade", got "upgrade"',
      refused(c:post(ORDER .. "12345/addons/schedule", { addon_key = "p0f_slots", action = "upgrade", next_qty = 1 })))
    -- fields the operation does not know are left alone, as the API's
    -- deserializer does
    assert.are.equal(200, c:post(ORDER .. "12345/tag", { tag = "x", colour = "red" }).status)
  end)

  it("takes the proxy type as the API spells it, not the client's alias", function()
    assert.are.equal('Invalid query: proxy_type must be one of standart, premium, got "standard"',
      refused(c:get("/user/api/proxies/profile", { proxy_type = "standard" })))
    assert.are.equal("Invalid query: proxy_type is required", refused(c:get("/user/api/proxies/profile")))
    assert.are.equal(200, c:get("/user/api/proxies/profile", { proxy_type = "standart" }).status)
  end)

  it("checks location codes and sub-user ids", function()
    assert.are.equal('Invalid query: country_code must be a code such as "DE" (letters, digits, - _ .), got "D E"',
      refused(c:get("/user/api/proxies/regions", { proxy_type = "premium", country_code = "D E" })))
    assert.are.equal('Invalid path: user_id must be a sub-user id (letters, digits, . _ ~ -), got "a b"',
      refused(c:get(SUB .. "a%20b", PREMIUM), 404))
  end)

  it("reads addons_json, the query's JSON text of add-ons", function()
    local calc = "/user/api/orders/calculate"
    local function with(addons)
      return c:get(calc, { product = "Datacenter Proxy", cycle = "monthly", addons_json = addons })
    end
    assert.are.equal(60, with('[{"addon_key":"p0f_slots","qty":2}]').json.addons_price)
    assert.are.equal(0, with("[]").json.addons_price)
    assert.are.equal("Invalid query: addons_json must be JSON text of [{addon_key, qty}, ...]",
      refused(with("p0f_slots=2")))
    assert.are.equal("Invalid query: addons_json must be an array of {addon_key, qty}",
      refused(with('{"addon_key":"p0f_slots","qty":2}')))
    assert.are.equal("Invalid query: addons_json[1].qty must be an integer from 1 to 10000, got 0",
      refused(with('[{"addon_key":"p0f_slots","qty":0}]')))
    assert.are.equal('Invalid query: addons_json[1] has a bad addon_key: addon_key must match [a-z0-9_]+, got "P0F"',
      refused(with('[{"addon_key":"P0F","qty":1}]')))
    assert.are.equal("Invalid query: addons_json[2] repeats p0f_slots",
      refused(with('[{"addon_key":"p0f_slots","qty":1},{"addon_key":"p0f_slots","qty":1}]')))
    -- well-formed, but no add-on of the catalog
    assert.are.equal("Unknown addon_key", refused(with('[{"addon_key":"gold","qty":1}]')))
  end)

  it("reads the per-IP items of signature/set and del-np/set", function()
    local sign = ORDER .. "12345/signature/set"
    assert.are.equal("Invalid body: items must be a non-empty array of {ip, signature}",
      refused(c:post(sign, '{"items":[]}')))
    assert.are.equal("Invalid body: items[1].ip must be a string", refused(c:post(sign, '{"items":[{"ip":7}]}')))
    assert.are.equal('Invalid body: items[1].signature must be one of ios, macos, android, linux, win10, win11, '
      .. 'got "win7"', refused(c:post(sign, { items = { { ip = "203.0.113.11", signature = "win7" } } })))
    assert.are.equal("Invalid body: items[1].value must be true or false, got 1",
      refused(c:post(ORDER .. "12345/del-np/set", { items = { { ip = "203.0.113.11", value = 1 } } })))
  end)

  it("needs a Content-Length on every POST, and a JSON object only where there are body fields", function()
    local renew = ORDER .. "12346/renew"
    local token = { authorization = "Bearer sandbox-token" }
    assert.are.equal("no Content-Length specified", refused(c:request { method = "POST", path = renew,
      headers = token }))
    -- renew reads no body: an empty one without a Content-Type is fine
    local res = c:request { method = "POST", path = renew,
      headers = { authorization = "Bearer sandbox-token", ["content-length"] = "0" } }
    assert.are.equal(200, res.status, res.body)
    assert.are.equal("Content type error", refused(c:request { method = "POST", path = ORDER .. "12345/tag",
      body = '{"tag":"x"}', headers = { authorization = "Bearer sandbox-token", ["content-length"] = "11" } }))
    assert.are.equal("Json deserialize error: expected a JSON object",
      refused(c:post(ORDER .. "12345/tag", '["x"]')))
    -- DELETE takes no body at all
    assert.are.equal(200, c:delete(SUB .. "u-2").status)
  end)

  it("takes the first of a repeated query parameter, and decodes %-escapes and +", function()
    local res = c:get("/user/api/orders", "status=cancelled&status=all")
    assert.are.same({ 12348 }, { res.json.orders[1].order_id, res.json.orders[2] })
    res = c:get("/user/api/orders/calculate", "product=Datacenter+Proxy&cycle=%6Donthly")
    assert.are.equal(300, res.json.original_price)
  end)
end)
