local money = require "proxyshard.money"

describe("money (issue 2 subset)", function()
  it("holds exact integer cents and is immutable", function()
    local m = money.cents(150)
    assert.are.equal(150, m.cents)
    assert.are.equal("integer", math.type(m.cents))
    assert.are.equal(150, money.cents(150.0).cents)
    assert.has_error(function() m.cents = 5 end)
    assert.has_error(function() m.other = 5 end)
    assert.are.equal(150, m.cents)
  end)

  it("refuses fractions, NaN, inf and out-of-range cents", function()
    for _, v in ipairs({ 1.5, 0/0, math.huge, 2^53, "150", {} }) do
      assert.has_error(function() money.cents(v) end)
      assert.is_nil((money.from_cents(v)))
    end
  end)

  it("prints dollars and cents", function()
    local cases = { [0] = "$0.00", [5] = "$0.05", [-5] = "-$0.05", [60] = "$0.60", [100] = "$1.00",
      [123456] = "$1,234.56", [-123456789] = "-$1,234,567.89", [9007199254740991] = "$90,071,992,547,409.91" }
    for cents, text in pairs(cases) do
      assert.are.equal(text, tostring(money.cents(cents)))
    end
    assert.are.equal("-0.05", money.cents(-5):to_decimal())
    assert.are.equal("1234.56", money.cents(123456):to_decimal())
  end)

  it("adds, subtracts, multiplies by integers and compares", function()
    local a, b = money.cents(30), money.cents(60)
    assert.are.equal(money.cents(90), a + b)
    assert.are.equal(money.cents(-30), a - b)
    assert.are.equal(money.cents(-30), -a)
    assert.are.equal(money.cents(60), a * 2)
    assert.are.equal(money.cents(60), 2 * a)
    assert.is_true(a < b)
    assert.is_true(a <= a)
    assert.is_false(b <= a)
    assert.are_not.equal(a, b)
    assert.has_error(function() return a * 1.5 end)
    assert.has_error(function() return a * b end)
    assert.has_error(function() return a + 1 end)
  end)

  it("raises on overflow instead of wrapping", function()
    local max = money.cents(9007199254740991)
    assert.has_error(function() return max + money.cents(1) end)
    assert.has_error(function() return -max - money.cents(1) end)
    assert.has_error(function() return max * 2 end)
    assert.are.equal(0, (max - max).cents)
  end)
end)
