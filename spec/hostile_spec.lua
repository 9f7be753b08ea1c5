-- Hostile or broken answers, served by the sandbox over real HTTP: each must
-- become a clear decode or api error, never a crash and never a wrong amount.
local proxyshard = require "proxyshard"
local sandbox_process = require "support.sandbox_process"

local CALCULATE = "/user/api/orders/12345/addons/calculate"

local function quote_body(total)
  return '{"success":true,"addon_key":"p0f_slots","catalog_id":1,"price_per_unit":30,'
    .. '"current_qty":3,"add_qty":2,"new_qty":5,"add_total":' .. total .. '}'
end

-- body, content type (nil: JSON), expected kind, message pattern
local answers = {
  -- read from the digits, not through a double: below a cent is still not cents
  { quote_body("60.000000000000001"), nil, "decode", "field add_total: not integer cents: not an integer" },
  { quote_body("59.99999999999999999"), nil, "decode", "field add_total: not integer cents: not an integer" },
  { quote_body("6.0000000000000001e1"), nil, "decode", "field add_total: not integer cents: not an integer" },
  { quote_body("1e400"), nil, "decode", "field add_total: not integer cents: out of range" },
  { quote_body("-1e400"), nil, "decode", "field add_total: not integer cents: out of range" },
  { quote_body("-0"), nil, "decode", "field add_total: not integer cents: negative zero" },
  { quote_body("1.5"), nil, "decode", "field add_total: not integer cents: not an integer" },
  { quote_body("0.6"), nil, "decode", "field add_total: not integer cents: not an integer" },
  { quote_body('"60"'), nil, "decode", "field add_total: not integer cents: not a number" },
  { quote_body('"$0.60"'), nil, "decode", "field add_total: not integer cents: not a number" },
  { quote_body("true"), nil, "decode", "field add_total: not integer cents: not a number" },
  { quote_body("[60]"), nil, "decode", "field add_total: not integer cents: not a number" },
  { quote_body("{}"), nil, "decode", "field add_total: not integer cents: not a number" },
  { quote_body("-60"), nil, "decode", "field add_total: a negative price" },
  { quote_body("9007199254740993"), nil, "decode", "field add_total: not integer cents: out of range" },
  { quote_body("NaN"), nil, "decode", "answer is not a JSON object" },
  { quote_body("Infinity"), nil, "decode", "answer is not a JSON object" },
  { quote_body("0x3C"), nil, "decode", "answer is not a JSON object" },
  { '{"success":"yes","add_qty":2,"add_total":60}', nil, "decode", "field success: not a boolean" },
  { '{"success":false}', nil, "api", "success: false" },
  { '{"success":false,"message":"Order is not active"}', nil, "api", "Order is not active" },
  { '{"success":true,"add_qty":"2","add_total":60}', nil, "decode", "field add_qty: not a number" },
  { '{"success":true,"add_qty":2.5,"add_total":60}', nil, "decode", "field add_qty: not an integer" },
  { '{"success":true,"add_qty":2,"add_total":60,"price_per_unit":-30}', nil, "decode",
    "field price_per_unit: a negative price" },
  { '{"success":true,"x":' .. ("["):rep(5000) .. ("]"):rep(5000) .. ',"add_qty":2,"add_total":60}', nil,
    "decode", "answer is not a JSON object" },
  { ("["):rep(60000), nil, "decode", "answer is not a JSON object" },
  { "null", nil, "decode", "answer is not a JSON object" },
  { '"just a string"', nil, "decode", "answer is not a JSON object" },
  { "", nil, "decode", "answer is not a JSON object" },
  { quote_body("60"), "text/html", "decode", "content type text/html, not JSON" },
  { quote_body("60"), "text/plain; charset=utf-8", "decode", "content type text/plain, not JSON" },
  { quote_body("60") .. "garbage", nil, "decode", "answer is not a JSON object" },
  -- an array is not the object the document gives (lua-cjson could not tell [] from {})
  { "[]", nil, "decode", "answer is not a JSON object (got array)" },
  { '{"success":true,"add_qty":2,"add_total":60,"addon_key":5}', nil, "decode", "field addon_key: not a string" },
}

describe("hostile answers", function()
  local sb, client

  setup(function()
    sb = sandbox_process.start()
    client = proxyshard.new { token = "sandbox-token", base_url = sb.url }
  end)

  teardown(function()
    if client then client:close() end
    if sb then sb:stop() end
  end)

  -- the same amount in another spelling is the same amount
  for _, text in ipairs { "60.0", "6.0e1", "6000e-2", "60.000" } do
    it("reads add_total " .. text .. " as exactly $0.60, and buys under a cap of 60 cents", function()
      sb:fault { method = "GET", path = CALCULATE, status = 200, body = quote_body(text) }
      local quote = assert(client:order(12345):addon("p0f_slots"):quote(2, { max_retries = 0 }))
      assert.are.equal(60, quote.total.cents)
    end)
  end

  -- answers the document allows (add_total is optional, add_qty unbounded):
  -- a quote, but no price a cap can be held to, or not this purchase's
  for _, a in ipairs {
    { quote_body("null"), "budget", "has no price (the quote gave no add_total)" },
    { '{"success":true,"add_qty":-2,"add_total":60}', "decode", "quote is for -2 units, not 2" },
  } do
    it(a[1] .. " is a quote; a capped purchase on it buys nothing (" .. a[2] .. ")", function()
      sb:fault { method = "GET", path = CALCULATE, status = 200, body = a[1] }
      assert(client:order(12345):addon("p0f_slots"):quote(2, { max_retries = 0 }))
      sb:fault { method = "GET", path = CALCULATE, status = 200, body = a[1] }
      local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2, { max_total = 1000, max_retries = 0 })
      assert.is_nil(receipt)
      assert.are.equal(a[2], err.kind)
      assert.matches(a[3], err.message, 1, true)
      assert.are.equal(0, #sb:ledger())
    end)
  end

  for i, a in ipairs(answers) do
    local body, ctype, kind, pattern = a[1], a[2], a[3], a[4]
    it(("#%d %s → %s"):format(i, #body > 60 and (body:sub(1, 57) .. "...") or body, kind), function()
      sb:fault { method = "GET", path = CALCULATE, status = 200, body = body, content_type = ctype }
      local quote, err = client:order(12345):addon("p0f_slots"):quote(2, { max_retries = 0 })
      assert.is_nil(quote)
      assert.are.equal(kind, err.kind)
      assert.matches(pattern, err.message, 1, true)
      assert.are.equal(200, err.status)
      assert.are.equal(1, err.attempts)
      -- never a purchase under a cap on a quote that could not be read
      sb:fault { method = "GET", path = CALCULATE, status = 200, body = body, content_type = ctype }
      local receipt
      receipt, err = client:order(12345):addon("p0f_slots"):purchase(2, { max_total = 1000, max_retries = 0 })
      assert.is_nil(receipt)
      assert.are.equal(kind, err.kind)
      assert.are.equal(0, #sb:ledger())
    end)
  end

  it("survive huge headers as a decode error", function()
    sb:fault { method = "GET", path = CALCULATE, huge_headers = 1024 * 1024 }
    local quote, err = client:order(12345):addon("p0f_slots"):quote(2, { max_retries = 0 })
    assert.is_nil(quote)
    assert.are.equal("decode", err.kind)
    assert.matches("headers larger than", err.message)
  end)

  it("accept what is exact even when oddly written", function()
    for _, total in ipairs({ "60.0", "6e1", "0.6e2", "6000e-2" }) do
      sb:fault { method = "GET", path = CALCULATE, status = 200, body = quote_body(total) }
      local quote = assert(client:order(12345):addon("p0f_slots"):quote(2, { max_retries = 0 }))
      assert.are.equal(60, quote.total.cents)
    end
  end)
end)
