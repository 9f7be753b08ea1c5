-- The sandbox's one renderer: a Lua value written by an answer's shape.
local render = require "proxyshard.sandbox.render"
local operations = require "proxyshard.operations"
local shapes = require "proxyshard.shapes"
local json = require "proxyshard.wire.json"

local function answer_of(handle, name)
  return assert(operations.find(handle, name)).answer
end

describe("sandbox renderer", function()
  it("writes only the shape's fields, leaves nil out, and null where it is asked for", function()
    local text = render.answer(answer_of("client", "me"), {
      email = "a@b.test", active_orders = 2, wallet_balance = 150, secret = "not in the shape" })
    assert.are.equal('{"active_orders":2,"email":"a@b.test","wallet_balance":150}', text)
    text = render.answer(answer_of("order", "proxies"), { success = true, data = {}, order_tag = json.null })
    assert.are.equal('{"data":[],"order_tag":null,"success":true}', text)
    text = render.answer(answer_of("order", "proxies"), { success = true, data = {} })
    assert.are.equal('{"data":[],"success":true}', text)
  end)

  it("writes money values and integral floats as integer cents", function()
    local money = require "proxyshard.money"
    local shape = answer_of("client", "quote_order")
    local text = render.answer(shape, { original_price = money.cents(600), final_price = 540.0,
      discount_percent = 10, addons_price = money.parse("0.30"), total_with_addons = 570 })
    assert.are.equal('{"addons_price":30,"discount_percent":10,"final_price":540,"original_price":600,'
      .. '"total_with_addons":570}', text)
  end)

  it("writes a bare list answer as a JSON array, empty or not", function()
    local shape = answer_of("client", "available")
    assert.are.equal("[]", render.answer(shape, {}))
    assert.are.equal('[{"amount":3,"country":"DE","product":"ISP Proxy"}]',
      render.answer(shape, { { country = "DE", product = "ISP Proxy", amount = 3, extra = 1 } }))
  end)

  it("nests objects and lists of objects or of strings", function()
    local text = render.answer({ products = { list = shapes.product } }, { products = {
      { name = "ISP Proxy", cycles = { "monthly" }, location = "US" } } })
    assert.are.equal('{"products":[{"cycles":["monthly"],"location":"US","name":"ISP Proxy"}]}', text)
    text = render.answer({ order = { object = shapes.order } }, { order = { order_id = 1, addons = {
      { addon_key = "p0f_slots", qty = 2, pending = { action = "downgrade", next_qty = 1, why = "x" } } } } })
    assert.are.equal('{"order":{"addons":[{"addon_key":"p0f_slots","pending":{"action":"downgrade","next_qty":1},'
      .. '"qty":2}],"order_id":1}}', text)
  end)

  it("raises on a value its shape cannot hold: a sandbox bug, never a wrong answer", function()
    local function refused(shape, v)
      local ok, why = pcall(render.answer, shape, v)
      assert.is_false(ok)
      return why
    end
    assert.are.equal("render: answer.final_price is negative: -5",
      refused(answer_of("client", "quote_order"), { final_price = -5 }))
    assert.are.equal("render: answer.wallet_balance is not an integer: 1.5",
      refused(answer_of("client", "me"), { wallet_balance = 1.5 }))
    assert.are.equal("render: answer.email is not a string: 5", refused(answer_of("client", "me"), { email = 5 }))
    -- a required field missing, or null
    assert.are.equal("render: answer.orders is required", refused(answer_of("client", "orders"), { success = true }))
    assert.are.equal("render: answer.products is required",
      refused(answer_of("client", "products"), { success = true, products = json.null }))
  end)
end)
