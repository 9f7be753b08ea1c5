local validate = require "proxyshard.check.validate"
local is_exact_integer = require "support.exact"

describe("validate", function()
  describe("id", function()
    it("accepts positive integers, digit strings and integral floats", function()
      assert.are.equal(12345, validate.id(12345, "order_id"))
      assert.are.equal(12345, validate.id("12345", "order_id"))
      assert.are.equal(7, validate.id(7.0, "order_id"))
      assert.are.equal(9007199254740991, validate.id(9007199254740991, "order_id"))
      assert.are.equal(9007199254740991, validate.id("9007199254740991", "order_id"))
    end)

    local bad = { 0, -1, 1.5, 2^53, 2^53 + 2, math.huge, 0/0, "", "0", "-3", "+3", "12/../../x",
      "12 ", " 12", "1e3", "0x10", "12345678901234567", "9007199254740992", true, {}, nil }
    for i = 1, 21 do
      local v = bad[i]
      it("refuses " .. (type(v) == "string" and ("%q"):format(v) or tostring(v)), function()
        local id, err = validate.id(v, "order_id")
        assert.is_nil(id)
        assert.are.equal("invalid_argument", err.kind)
        assert.are.equal("order_id", err.argument)
        assert.matches("^order_id ", err.message)
      end)
    end
  end)

  it("checks add-on keys", function()
    assert.are.equal("p0f_slots", validate.addon_key("p0f_slots"))
    for _, v in ipairs({ "", "P0F", "p0f-slots", "p0f slots", "a/b", "x\n", 5, ("a"):rep(65) }) do
      local k, err = validate.addon_key(v)
      assert.is_nil(k)
      assert.are.equal("addon_key", err.argument)
    end
  end)

  it("checks quantities from 1 to MAX_QTY", function()
    assert.are.equal(1, validate.quantity(1, "add_qty"))
    assert.are.equal(validate.MAX_QTY, validate.quantity(validate.MAX_QTY, "add_qty"))
    assert.is_true(is_exact_integer(validate.quantity(2.0, "add_qty")))
    for _, v in ipairs({ 0, -1, 1.5, validate.MAX_QTY + 1, "2", 0/0, math.huge }) do
      local q, err = validate.quantity(v, "add_qty")
      assert.is_nil(q)
      assert.are.equal("add_qty", err.argument)
      assert.matches("from 1 to " .. validate.MAX_QTY, err.message)
    end
  end)

  it("knows exactly the six signatures", function()
    assert.are.same({ "ios", "macos", "android", "linux", "win10", "win11" }, validate.SIGNATURES)
    for _, s in ipairs(validate.SIGNATURES) do assert.are.equal(s, validate.signature(s)) end
    for _, s in ipairs({ "windows", "Win11", "", "unset", 1 }) do
      assert.is_nil((validate.signature(s)))
    end
  end)

  describe("user_id", function()
    it("takes what a path segment keeps as it is, and refuses the dot segments that would change the path", function()
      assert.are.equal("u-1", validate.user_id("u-1", "user_id"))
      assert.are.equal("a.b", validate.user_id("a.b", "user_id"))
      assert.are.equal("...", validate.user_id("...", "user_id"))
      assert.are.equal("12", validate.user_id(12, "user_id"))
      for _, bad in ipairs { ".", "..", "a/b", "", "%2e%2e", "a b" } do
        local v, err = validate.user_id(bad, "user_id")
        assert.is_nil(v, bad)
        assert.are.equal("user_id", err.argument)
      end
    end)

    it("sends nothing for sub_user(\"..\")", function()
      local sent = 0
      local client = require("proxyshard").new { token = "tok-validate-spec",
        transport = { request = function() sent = sent + 1 end } }
      local _, err = client:residential("premium"):sub_user(".."):delete()
      assert.are.equal("invalid_argument", err.kind)
      assert.matches("dot segment", err.message)
      assert.are.equal(0, sent)
    end)
  end)

  describe("a parameter's enum from the API document", function()
    it("refuses res:isps on a standart handle (the document: premium only), nothing sent", function()
      local sent = 0
      local client = require("proxyshard").new { token = "tok-validate-spec",
        transport = { request = function() sent = sent + 1 end } }
      local _, err = client:residential("standart"):isps("DE", "BE", "berlin")
      assert.are.equal("invalid_argument", err.kind)
      assert.are.equal("proxy_type", err.argument)
      assert.matches("allows only premium", err.message)
      assert.are.equal(0, sent)
    end)
  end)

  describe("ip", function()
    local good = { "203.0.113.7", "0.0.0.0", "255.255.255.255", "::", "::1", "2001:db8::10",
      "2001:0db8:0000:0000:0000:0000:0000:0010", "fe80::1:2:3:4", "::ffff:192.0.2.1",
      "1:2:3:4:5:6:192.0.2.1", "1::", "1:2:3:4:5:6:7::", "ABCD:ef01::" }
    for _, v in ipairs(good) do
      it("accepts " .. v, function() assert.are.equal(v, validate.ip(v)) end)
    end
    local bad = { "256.1.1.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "1.2.3.-4", " 1.2.3.4", "1.2.3.4 ",
      "1.2.3.4:80", "[::1]", "fe80::1%eth0", ":::", "1::2::3", "12345::", "1:2:3:4:5:6:7:8:9",
      "1:2:3:4:5:6:7", "g::1", "::1.2.3", "1:2:3:4:5:6:7:1.2.3.4", "example.com", "", 3232235521 }
    for _, v in ipairs(bad) do
      it("refuses " .. tostring(v), function()
        local ip, err = validate.ip(v, "items[1].ip")
        assert.is_nil(ip)
        assert.are.equal("items[1].ip", err.argument)
      end)
    end
  end)

  describe("signature_items", function()
    it("copies a valid list", function()
      local items = validate.signature_items { { ip = "203.0.113.7", signature = "win11" },
        { ip = "2001:db8::1", signature = "macos" } }
      assert.are.same({ { ip = "203.0.113.7", signature = "win11" },
        { ip = "2001:db8::1", signature = "macos" } }, items)
    end)

    local cases = {
      { nil, "items" }, { {}, "items" }, { "x", "items" }, { { ip = "1.2.3.4", signature = "linux" }, "items" },
      { { [1] = { ip = "1.2.3.4", signature = "linux" }, [3] = { ip = "1.2.3.5", signature = "linux" } }, "items" },
      { { "1.2.3.4" }, "items[1]" },
      { { { ip = "1.2.3.4", signature = "linux" }, { ip = "1.2.3", signature = "linux" } }, "items[2].ip" },
      { { { ip = "1.2.3.4", signature = "bsd" } }, "items[1].signature" },
      { { { ip = "1.2.3.4", signature = "linux" }, { ip = "1.2.3.4", signature = "ios" } }, "items[2].ip" },
    }
    for i, case in ipairs(cases) do
      it("refuses bad list #" .. i .. " naming " .. case[2], function()
        local out, err = validate.signature_items(case[1])
        assert.is_nil(out)
        assert.are.equal("invalid_argument", err.kind)
        assert.are.equal(case[2], err.argument)
      end)
    end
  end)
end)
