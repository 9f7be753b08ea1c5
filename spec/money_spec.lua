-- proxyshard.money as docs/money.md describes it: exact integer cents,
-- identical on Lua 5.4 and LuaJIT. This file runs unchanged on both
-- (scripts/test.sh runs it under LuaJIT too): no integer-only syntax, no
-- literal beyond 2^53, 5.4-only checks guarded by `if HAS_INT`.
--
-- The property tests draw from a small deterministic generator (the same
-- numbers on both interpreters). The seed is printed; set MONEY_SPEC_SEED to
-- try another one, and MONEY_SPEC_ITERATIONS to run more iterations.
local money = require "proxyshard.money"

local MAX = 9007199254740991 -- 2^53 - 1: exact as a Lua 5.4 integer and as a double
local HALF_MAX = 4503599627370496 -- 2^52, so that HALF_MAX * 2 == MAX + 1
local HAS_INT = math.type ~= nil
local unpack = table.unpack or rawget(_G, "unpack")
local floor = math.floor
local nan = 0 / 0
local inf = math.huge

local MODES = { "half_even", "half_up", "half_down", "up", "down", "ceil", "floor" }

local SEED = floor(tonumber(os.getenv("MONEY_SPEC_SEED") or "") or 20261127)
local ITERATIONS = floor(tonumber(os.getenv("MONEY_SPEC_ITERATIONS") or "") or 3000)
print(("# money properties: seed %d, %d iterations (MONEY_SPEC_SEED, MONEY_SPEC_ITERATIONS)")
  :format(SEED, ITERATIONS))

-- Test names stay on one TAP line, whatever bytes the text holds.
local function show(v)
  if type(v) ~= "string" then return tostring(v) end
  return '"' .. v:gsub("[%c\"\\\128-\255]", function(c) return ("\\%d"):format(c:byte()) end) .. '"'
end

-- Whole numbers of either subtype print without a ".0" or an exponent.
local function num(v)
  if type(v) == "number" and v == floor(v) and v > -2 ^ 63 and v < 2 ^ 63 then
    return ("%.0f"):format(v)
  end
  return tostring(v)
end

local function is_integer(v)
  if HAS_INT then return math.type(v) == "integer" end
  return type(v) == "number" and v == floor(v)
end

-- A money value holding exactly `cents` (an integer subtype on 5.4).
local function assert_money(m, cents, context)
  context = context and (" (" .. context .. ")") or ""
  assert.is_true(money.is(m), "not a money value: " .. tostring(m) .. context)
  assert.are.equal(cents, m.cents, "cents " .. num(m.cents) .. " ~= " .. num(cents) .. context)
  if cents == 0 then assert.is_true(1 / m.cents > 0, "cents is -0" .. context) end
  if HAS_INT then
    assert.are.equal("integer", math.type(m.cents), "m.cents is not an integer" .. context)
  end
end

local function assert_invalid(text, mode)
  local ok, v, err = pcall(money.parse, text, mode)
  local what = "money.parse(" .. show(text) .. (mode and (", " .. show(mode)) or "") .. ")"
  assert.is_true(ok, what .. " raised: " .. tostring(v))
  assert.is_nil(v, what .. " gave " .. tostring(v))
  assert.are.equal("table", type(err), what .. ": err is " .. type(err))
  assert.are.equal("invalid_argument", err.kind, what .. ": err.kind")
  assert.are.equal("string", type(err.message), what .. ": err.message")
end

local function cents_list(parts)
  local out = {}
  for i, p in ipairs(parts) do
    assert.is_true(money.is(p), "part " .. i .. " is not money")
    if HAS_INT then assert.are.equal("integer", math.type(p.cents)) end
    out[i] = p.cents
  end
  return out
end

-- Deterministic generator (Park-Miller): exact in doubles and in integers,
-- so both interpreters see the same values for one seed.
local function generator(seed)
  local state = seed % 2147483646 + 1
  local g = {}
  function g.next()
    state = state * 16807 % 2147483647
    return state
  end
  function g.int(lo, hi) -- hi - lo < 2^31
    return lo + g.next() % (hi - lo + 1)
  end
  -- 0 .. 2^53 - 1, uniform
  function g.bits53()
    return (g.next() % 67108864) * 134217728 + g.next() % 134217728
  end
  return g
end

local POW2 = { [0] = 1 }
for k = 1, 53 do POW2[k] = POW2[k - 1] * 2 end

-- Cents within +/-MAX, of every size, with the edges now and then.
local EDGES = { 0, 1, 2, 99, 100, 101, MAX, MAX - 1, HALF_MAX, HALF_MAX - 1 }
local function random_cents(g, max_bits)
  local mag
  if g.int(0, 15) == 0 then
    mag = EDGES[g.int(1, #EDGES)]
    if max_bits and mag >= POW2[max_bits] then mag = POW2[max_bits] - 1 end
  else
    mag = g.bits53() % POW2[g.int(0, max_bits or 53)]
  end
  if g.int(0, 1) == 1 then return -mag end
  return mag
end

local function abs(v) return v < 0 and -v or v end

-- floor(a / b) for 0 <= a < 2^53, b > 0, exact with doubles too.
local function idiv(a, b)
  local q = floor(a / b)
  while q * b > a do q = q - 1 end
  while (q + 1) * b <= a do q = q + 1 end
  return q
end

describe("proxyshard.money", function()
  describe("money.cents", function()
    local good = {
      { 0, 0 }, { 1, 1 }, { -1, -1 }, { 150, 150 }, { 150.0, 150 }, { -150.0, -150 },
      { MAX, MAX }, { -MAX, -MAX }, { MAX - 1, MAX - 1 }, { 9007199254740990.0, 9007199254740990 },
      { 0.0, 0 },
    }
    for _, c in ipairs(good) do
      it("accepts " .. num(c[1]) .. (is_integer(c[1]) and "" or " (float)"), function()
        assert_money(money.cents(c[1]), c[2])
      end)
    end

    it("reads -0.0 as 0 if it accepts it", function()
      local ok, m = pcall(money.cents, -tonumber("0.0"))
      if ok then
        assert_money(m, 0)
        assert.are.equal("0.00", m:to_decimal())
        assert.are.equal("$0.00", tostring(m))
      end
    end)

    local bad = {
      { 1.5, "1.5" }, { 0.1, "0.1" }, { -2.25, "-2.25" }, { nan, "nan" }, { inf, "inf" },
      { -inf, "-inf" }, { MAX + 1, "2^53" }, { -(MAX + 1), "-2^53" }, { 2 ^ 53, "2^53 (float)" },
      { 1e20, "1e20" }, { -1e300, "-1e300" }, { "150", "a numeric string" }, { "1.50", "a decimal string" },
      { {}, "a table" }, { true, "a boolean" }, { nil, "nil" }, { money.cents(5), "a money value" },
    }
    if HAS_INT then
      bad[#bad + 1] = { math.maxinteger, "math.maxinteger" }
      bad[#bad + 1] = { math.mininteger, "math.mininteger" }
    end
    for _, b in ipairs(bad) do
      it("raises for " .. b[2], function()
        assert.has_error(function() money.cents(b[1]) end)
      end)
    end

    it("is exact at the boundary: +/-(2^53 - 1) ok, one more raises", function()
      assert_money(money.cents(MAX), MAX)
      assert_money(money.cents(-MAX), -MAX)
      assert.has_error(function() money.cents(MAX + 1) end)
      assert.has_error(function() money.cents(-MAX - 1) end)
      assert.has_error(function() money.cents(HALF_MAX * 2) end)
    end)

    it("exports MAX_CENTS = 2^53 - 1", function()
      assert.are.equal(MAX, money.MAX_CENTS)
      assert.is_true(is_integer(money.MAX_CENTS))
      if HAS_INT then assert.are.equal("integer", math.type(money.MAX_CENTS)) end
    end)
  end)

  describe("money.zero and money.is", function()
    it("money.zero is $0.00", function()
      assert_money(money.zero, 0)
      assert.are.equal("$0.00", tostring(money.zero))
      assert.are.equal(money.cents(0), money.zero)
    end)

    it("money.is tells money values from everything else", function()
      assert.is_true(money.is(money.cents(5)))
      assert.is_true(money.is(money.zero))
      assert.is_true(money.is(money.parse("1.00")))
      for _, v in ipairs { 5, "5", "$1.00", {}, { cents = 5 }, true, print, io.stdout } do
        assert.is_false(money.is(v), "money.is(" .. tostring(v) .. ")")
      end
      assert.is_false(money.is(nil))
      assert.is_false(money.is())
    end)

    it("money values are userdata: equal, but distinct table keys", function()
      local a, b = money.cents(7), money.cents(7)
      assert.are.equal("userdata", type(a))
      assert.is_true(a == b)
      assert.is_false(rawequal(a, b))
      local t = { [a] = true }
      assert.is_nil(t[b])
      assert.is_true(t[a])
    end)
  end)

  describe("money.parse", function()
    local accepted = {
      { "12.34", 1234 }, { "-0.05", -5 }, { "12", 1200 }, { "1,234.56", 123456 }, { "$12.34", 1234 },
      { "-$0.05", -5 }, { "0", 0 }, { "-0", 0 }, { "0.00", 0 }, { "-0.00", 0 }, { "-$0.00", 0 },
      { "0.5", 50 }, { "1.2", 120 }, { "-1.2", -120 }, { "1.50", 150 }, { "1234", 123400 },
      { "1234.56", 123456 }, { "1,234", 123400 }, { "123,456", 12345600 }, { "1,234,567.89", 123456789 },
      { "$1,234,567", 123456700 }, { "-$1,234.56", -123456 }, { "$0.01", 1 }, { "999.99", 99999 },
      { "90071992547409.91", MAX }, { "-90071992547409.91", -MAX }, { "90,071,992,547,409.91", MAX },
      { "$90,071,992,547,409.91", MAX }, { "-$90,071,992,547,409.91", -MAX },
      { "90071992547409.9", 9007199254740990 }, { "90071992547409", 9007199254740900 },
    }
    for _, c in ipairs(accepted) do
      it("reads " .. show(c[1]) .. " as " .. num(c[2]) .. " cents", function()
        local m, err = money.parse(c[1])
        assert.is_nil(err)
        assert_money(m, c[2], c[1])
        -- a rounding mode changes nothing when the text is exact
        for _, mode in ipairs(MODES) do
          assert_money(money.parse(c[1], mode), c[2], c[1] .. " " .. mode)
        end
      end)
    end

    local refused = {
      "", " ", " 1", "1 ", " 1 ", "\t1", "1\n", "1\0", "\0", "+1", "+$1", "1e2", "1E2", "1e-2", "1.5e1",
      "NaN", "nan", "inf", "-inf", "Infinity", "--1", "-", "$", "-$", "$-", "$$1", "$-1", "-$-1", "1-",
      "1$", "$ 1", "- 1", "-$ 1", "1,23", "12,3456", ",123", "1,,234", "1,234,", "1,234,56", "1234,567",
      "1,234.5,6", "1.234,56", "1,2345.00", "1.", "-1.", ".5", "-.5", "$.5", ".", "1.2.3", "1..2", "0x10",
      "0X1F", "1_000", "1 000", "\217\161\217\162", "\239\188\145\239\188\146", "\226\136\146\49", "12abc",
      "abc", "1.2a", "a1", "1.234", "0.001", "-0.125", "1,234.567", "90071992547409.92", "-90071992547409.92",
      "90,071,992,547,409.92", "90071992547410", "99999999999999999999", "9223372036854775807",
      "9223372036854775808", "18446744073709551616", "1" .. string.rep("0", 40),
      "0." .. string.rep("0", 40) .. "1",
    }
    for _, text in ipairs(refused) do
      it("refuses " .. show(text) .. " with nil, invalid_argument", function()
        assert_invalid(text)
      end)
    end

    -- Refused whatever the mode: a mode rounds decimals, it does not fix syntax.
    local refused_with_mode = {
      "", "1e2", "NaN", "+1", " 1", "1.", ".5", "1,23", "$-1", "90071992547409.92", "90071992547410",
      "-90071992547409.92", "12abc", "1.2.3",
    }
    for _, text in ipairs(refused_with_mode) do
      it("refuses " .. show(text) .. " in every rounding mode", function()
        for _, mode in ipairs(MODES) do assert_invalid(text, mode) end
      end)
    end

    it("never raises for bad text, and the error reads well", function()
      local v, err = money.parse("12abc")
      assert.is_nil(v)
      assert.are.equal("invalid_argument", err.kind)
      assert.are.equal("string", type(tostring(err)))
      local _, err2 = money.parse("1.234")
      assert.are.equal("invalid_argument", err2.kind)
      local _, err3 = money.parse("90071992547409.92")
      assert.are.equal("invalid_argument", err3.kind)
    end)

    local not_strings = { { 12, "a number" }, { 12.5, "a float" }, { nil, "nil" }, { {}, "a table" },
      { true, "a boolean" }, { money.cents(5), "a money value" } }
    for _, b in ipairs(not_strings) do
      it("raises for " .. b[2] .. " instead of a string", function()
        assert.has_error(function() money.parse(b[1]) end)
        assert.has_error(function() money.parse(b[1], "half_even") end)
      end)
    end

    for _, mode in ipairs { "HALF_EVEN", "half-even", "bankers", "nearest", "", " half_up", 0, 1, true, {} } do
      it("raises for the unknown mode " .. show(mode), function()
        assert.has_error(function() money.parse("1.00", mode) end)
        assert.has_error(function() money.parse("0.125", mode) end)
      end)
    end

    it("an explicit nil mode is no mode", function()
      assert_invalid("0.125", nil)
      assert_money(money.parse("0.12", nil), 12)
    end)

    it("the README example: 0.125 with half_even is 12 cents", function()
      assert_money(money.parse("0.125", "half_even"), 12)
    end)
  end)

  describe("rounding modes", function()
    it("money.ROUNDING_MODES lists the seven names", function()
      assert.are.equal("table", type(money.ROUNDING_MODES))
      assert.are.equal(#MODES, #money.ROUNDING_MODES)
      local seen = {}
      for _, name in ipairs(money.ROUNDING_MODES) do seen[name] = true end
      for _, name in ipairs(MODES) do assert.is_true(seen[name], name .. " is missing") end
    end)

    -- text, then the cents per mode in MODES order (half_even, half_up,
    -- half_down, up, down, ceil, floor); false: out of range (nil, err).
    local X = false
    local parse_cases = {
      { "0.125", 12, 13, 12, 13, 12, 13, 12 },
      { "-0.125", -12, -13, -12, -13, -12, -12, -13 },
      { "0.135", 14, 14, 13, 14, 13, 14, 13 },
      { "-0.135", -14, -14, -13, -14, -13, -13, -14 },
      { "0.005", 0, 1, 0, 1, 0, 1, 0 },
      { "-0.005", 0, -1, 0, -1, 0, 0, -1 },
      { "0.015", 2, 2, 1, 2, 1, 2, 1 },
      { "-0.015", -2, -2, -1, -2, -1, -1, -2 },
      { "0.1250", 12, 13, 12, 13, 12, 13, 12 },
      { "0.125000000000000000000000", 12, 13, 12, 13, 12, 13, 12 },
      { "0.125000000000000000000001", 13, 13, 13, 13, 12, 13, 12 },
      { "-0.1250001", -13, -13, -13, -13, -12, -12, -13 },
      { "0.1249999", 12, 12, 12, 13, 12, 13, 12 },
      { "-0.1249999", -12, -12, -12, -13, -12, -12, -13 },
      { "2.675", 268, 268, 267, 268, 267, 268, 267 },
      { "-2.665", -266, -267, -266, -267, -266, -266, -267 },
      { "0.995", 100, 100, 99, 100, 99, 100, 99 },
      { "1.001", 100, 100, 100, 101, 100, 101, 100 },
      { "-1.001", -100, -100, -100, -101, -100, -100, -101 },
      { "0.004", 0, 0, 0, 1, 0, 1, 0 },
      { "-0.004", 0, 0, 0, -1, 0, 0, -1 },
      { "0.006", 1, 1, 1, 1, 0, 1, 0 },
      { "-0.006", -1, -1, -1, -1, 0, 0, -1 },
      { "-$1,234.565", -123456, -123457, -123456, -123457, -123456, -123456, -123457 },
      { "$1,234.575", 123458, 123458, 123457, 123458, 123457, 123458, 123457 },
      { "12.34", 1234, 1234, 1234, 1234, 1234, 1234, 1234 },
      { "90071992547409.914", MAX, MAX, MAX, X, MAX, X, MAX },
      { "90071992547409.915", X, X, MAX, X, MAX, X, MAX },
      { "-90071992547409.915", X, X, -MAX, X, -MAX, -MAX, X },
      { "90071992547409.9100001", MAX, MAX, MAX, X, MAX, X, MAX },
      { "90071992547409.905", 9007199254740990, MAX, 9007199254740990, MAX, 9007199254740990, MAX,
        9007199254740990 },
      { "-90071992547409.9199", X, X, X, X, -MAX, -MAX, X },
      { "-90071992547409.9099", -MAX, -MAX, -MAX, -MAX, 1 - MAX, 1 - MAX, -MAX },
    }
    for _, c in ipairs(parse_cases) do
      for i, mode in ipairs(MODES) do
        local want = c[i + 1]
        it(("parse(%s, %s) -> %s"):format(show(c[1]), mode, want and num(want) or "nil, err"), function()
          if want then
            local m, err = money.parse(c[1], mode)
            assert.is_nil(err)
            assert_money(m, want, c[1] .. " " .. mode)
          else
            assert_invalid(c[1], mode)
          end
        end)
      end
    end

    -- amount in cents, p, then the cents per mode; true: raises (out of range).
    local R = true
    local percent_cases = {
      { 1, 50, 0, 1, 0, 1, 0, 1, 0 },
      { -1, 50, 0, -1, 0, -1, 0, 0, -1 },
      { 3, 50, 2, 2, 1, 2, 1, 2, 1 },
      { -3, 50, -2, -2, -1, -2, -1, -1, -2 },
      { 5, 10, 0, 1, 0, 1, 0, 1, 0 },
      { 15, 10, 2, 2, 1, 2, 1, 2, 1 },
      { 25, 10, 2, 3, 2, 3, 2, 3, 2 },
      { -25, 10, -2, -3, -2, -3, -2, -2, -3 },
      { 7, -50, -4, -4, -3, -4, -3, -3, -4 },
      { 100, "12.5", 12, 13, 12, 13, 12, 13, 12 },
      { 100, "-12.5", -12, -13, -12, -13, -12, -12, -13 },
      { 300, "0.5", 2, 2, 1, 2, 1, 2, 1 },
      { 1, 1, 0, 0, 0, 1, 0, 1, 0 },
      { -1, 1, 0, 0, 0, -1, 0, 0, -1 },
      { 199, 33, 66, 66, 66, 66, 65, 66, 65 },
      { 12345, "0.075", 9, 9, 9, 10, 9, 10, 9 },
      { -100, -3, 3, 3, 3, 3, 3, 3, 3 },
      { 1000, "-3", -30, -30, -30, -30, -30, -30, -30 },
      { 1000, "12.50", 125, 125, 125, 125, 125, 125, 125 },
      { 0, 12345, 0, 0, 0, 0, 0, 0, 0 },
      { 7, 0, 0, 0, 0, 0, 0, 0, 0 },
      { 7, "0", 0, 0, 0, 0, 0, 0, 0 },
      { MAX, 100, MAX, MAX, MAX, MAX, MAX, MAX, MAX },
      { MAX, -100, -MAX, -MAX, -MAX, -MAX, -MAX, -MAX, -MAX },
      { MAX, 50, HALF_MAX, HALF_MAX, HALF_MAX - 1, HALF_MAX, HALF_MAX - 1, HALF_MAX, HALF_MAX - 1 },
      { -MAX, 50, -HALF_MAX, -HALF_MAX, 1 - HALF_MAX, -HALF_MAX, 1 - HALF_MAX, 1 - HALF_MAX, -HALF_MAX },
      -- 9007199164668998.45259009: needs more than 64 bits in between
      { MAX, "99.999999", 9007199164668998, 9007199164668998, 9007199164668998, 9007199164668999,
        9007199164668998, 9007199164668999, 9007199164668998 },
      -- -2972375754064527.03
      { -MAX, 33, -2972375754064527, -2972375754064527, -2972375754064527, -2972375754064528,
        -2972375754064527, -2972375754064527, -2972375754064528 },
      { MAX, 101, R, R, R, R, R, R, R },
      { -MAX, 200, R, R, R, R, R, R, R },
      { HALF_MAX, 200, R, R, R, R, R, R, R },
      { MAX, "100.000001", R, R, R, R, R, R, R },
      -- 9007199254740990.990992800745259009: sixteen decimals of percentage
      { MAX, "99.9999999999999999", MAX, MAX, MAX, MAX, MAX - 1, MAX, MAX - 1 },
    }
    for _, c in ipairs(percent_cases) do
      for i, mode in ipairs(MODES) do
        local want = c[i + 2]
        it(("cents(%s):percent(%s, %s) -> %s"):format(num(c[1]), show(c[2]), mode,
          want == R and "raises" or num(want)), function()
          local m = money.cents(c[1])
          if want == R then
            assert.has_error(function() m:percent(c[2], mode) end)
          else
            assert_money(m:percent(c[2], mode), want, mode)
          end
        end)
      end
    end
  end)

  describe("m:percent", function()
    it("rounds half_even by default", function()
      assert_money(money.cents(1):percent(50), 0)
      assert_money(money.cents(3):percent(50), 2)
      assert_money(money.cents(25):percent(10), 2)
      assert_money(money.cents(35):percent(10), 4)
      assert_money(money.cents(-25):percent(10), -2)
      assert_money(money.cents(100):percent("12.5"), 12)
      assert_money(money.cents(100):percent("13.5"), 14)
      assert_money(money.cents(1):percent(50, nil), 0)
    end)

    it("takes integer and decimal-string percentages, negative ones too", function()
      assert_money(money.cents(1999):percent(10), 200)
      assert_money(money.cents(1999):percent("10"), 200)
      assert_money(money.cents(1999):percent(-10), -200)
      assert_money(money.cents(1999):percent("-10"), -200)
      assert_money(money.cents(10000):percent("0.01"), 1)
      assert_money(money.cents(10000):percent("7.25"), 725)
      assert_money(money.cents(10000):percent(100.0), 10000)
      assert_money(money.cents(1234):percent(100), 1234)
      assert_money(money.cents(1234):percent(200), 2468)
    end)

    it("leaves the value it is called on unchanged", function()
      local m = money.cents(1000)
      local d = m:percent(25)
      assert_money(m, 1000)
      assert_money(d, 250)
    end)

    for _, p in ipairs { 12.5, 0.1, nan, inf, "abc", "", "1e2", "12.5%", " 5", "0x10", {}, true } do
      it("raises for the percentage " .. show(p), function()
        assert.has_error(function() money.cents(100):percent(p) end)
      end)
    end

    it("raises for an unknown mode", function()
      assert.has_error(function() money.cents(100):percent(50, "bankers") end)
      assert.has_error(function() money.cents(100):percent(50, "HALF_UP") end)
    end)
  end)

  describe("operators", function()
    local a, b = money.cents(30), money.cents(60)

    it("+ - and unary -", function()
      assert_money(a + b, 90)
      assert_money(a - b, -30)
      assert_money(b - a, 30)
      assert_money(-a, -30)
      assert_money(-(-a), 30)
      assert_money(-money.zero, 0)
      assert_money(-money.cents(MAX), -MAX)
      assert_money(-money.cents(-MAX), MAX)
      assert_money(a + b, 90)
      assert_money(a, 30) -- unchanged
    end)

    it("== < <=", function()
      assert.is_true(a == money.cents(30))
      assert.is_false(a == b)
      assert.is_true(a ~= b)
      assert.is_true(a < b)
      assert.is_false(b < a)
      assert.is_false(a < a)
      assert.is_true(a <= a)
      assert.is_true(a <= b)
      assert.is_false(b <= a)
      assert.is_true(b > a)
      assert.is_true(b >= b)
      assert.is_true(money.cents(-MAX) < money.cents(MAX))
      assert.is_true(money.cents(MAX - 1) < money.cents(MAX))
      assert.is_true(money.cents(-1) < money.zero)
    end)

    it("a number is never equal to money", function()
      assert.is_false(money.cents(30) == 30)
      assert.is_false(30 == money.cents(30))
      assert.is_false(money.zero == 0)
      assert.is_false(money.cents(30) == "0.30")
      assert.is_true(money.cents(30) ~= 30)
    end)

    it("comparing money with a number raises", function()
      assert.has_error(function() return a < 50 end)
      assert.has_error(function() return 50 < a end)
      assert.has_error(function() return a <= 50 end)
      assert.has_error(function() return a > 5 end)
    end)

    it("* with an integer, both orders", function()
      assert_money(a * 2, 60)
      assert_money(2 * a, 60)
      assert_money(a * -3, -90)
      assert_money(-3 * a, -90)
      assert_money(a * 0, 0)
      assert_money(a * 2.0, 60)
      assert_money(money.cents(6361) * 1416003655831, MAX)
      assert_money(1416003655831 * money.cents(-6361), -MAX)
    end)

    for _, c in ipairs {
      { "money * 1.5", function() return a * 1.5 end },
      { "1.5 * money", function() return 1.5 * a end },
      { "money * 0.1", function() return a * 0.1 end },
      { "money * nan", function() return a * nan end },
      { "money * inf", function() return a * inf end },
      { "money * 2^53", function() return money.cents(1) * (MAX + 1) end },
      { "money * \"2\"", function() return a * "2" end },
      { "money * money", function() return a * b end },
      { "money * nil", function() return a * nil end },
      { "money + number", function() return a + 1 end },
      { "number + money", function() return 1 + a end },
      { "money - number", function() return a - 1 end },
      { "number - money", function() return 1 - a end },
      { "money + string", function() return a + "1" end },
      { "money + table", function() return a + {} end },
      { "money / number", function() return a / 2 end },
      { "number / money", function() return 2 / a end },
      { "money / money", function() return a / b end },
      { "money % number", function() return a % 2 end },
      { "money % money", function() return a % b end },
      { "money ^ number", function() return a ^ 2 end },
    } do
      it("raises for " .. c[1], function()
        assert.has_error(c[2])
      end)
    end

    it("raises for // (Lua 5.3+ only: no such operator in 5.1, 5.2, LuaJIT)", function()
      local make = (rawget(_G, "loadstring") or load)("return function(x, y) return x // y end")
      if not make then return end -- before 5.3: not even syntax
      local idiv_op = make()
      assert.has_error(function() return idiv_op(a, 2) end)
      assert.has_error(function() return idiv_op(a, b) end)
      assert.has_error(function() return idiv_op(2, a) end)
    end)

    it(".. concatenates tostring(m)", function()
      assert.are.equal("x$0.30", "x" .. a)
      assert.are.equal("$0.30x", a .. "x")
      assert.are.equal("total: -$1,234.56", "total: " .. money.cents(-123456))
      assert.are.equal("$0.30 and $0.60", a .. " and " .. b)
    end)

    it("raises on overflow, exactly at the boundary", function()
      local max, one = money.cents(MAX), money.cents(1)
      assert_money(money.cents(MAX - 1) + one, MAX)
      assert_money(money.cents(1 - MAX) - one, -MAX)
      assert_money(money.cents(-MAX + 1) + money.cents(-1), -MAX)
      assert_money(money.zero - max, -MAX)
      assert_money(max - max, 0)
      assert_money(max + -max, 0)
      assert.has_error_match(function() return max + one end, "out of range")
      assert.has_error_match(function() return one + max end, "out of range")
      assert.has_error_match(function() return -max - one end, "out of range")
      assert.has_error_match(function() return -max + money.cents(-1) end, "out of range")
      assert.has_error_match(function() return max - money.cents(-1) end, "out of range")
      assert.has_error_match(function() return max + max end, "out of range")
      assert.has_error_match(function() return -max - max end, "out of range")
      assert_money(money.cents(HALF_MAX - 1) * 2, MAX - 1)
      assert_money(max * 1, MAX)
      assert_money(max * -1, -MAX)
      assert_money(money.cents(-MAX) * -1, MAX)
      assert.has_error_match(function() return money.cents(HALF_MAX) * 2 end, "out of range") -- 2^53
      assert.has_error_match(function() return 2 * money.cents(HALF_MAX) end, "out of range")
      assert.has_error_match(function() return money.cents(-HALF_MAX) * 2 end, "out of range") -- -2^53
      assert.has_error_match(function() return money.cents(HALF_MAX) * -2 end, "out of range")
      assert.has_error_match(function() return money.cents(6361) * 1416003655832 end, "out of range")
      assert.has_error_match(function() return max * 2 end, "out of range")
      assert.has_error_match(function() return max * MAX end, "out of range")
      assert.has_error_match(function() return money.cents(-MAX) * MAX end, "out of range")
      assert.has_error_match(function() return max * -MAX end, "out of range")
    end)
  end)

  describe("immutability", function()
    it("nothing can be assigned", function()
      local m = money.cents(150)
      assert.has_error(function() m.cents = 5 end)
      assert.has_error(function() m.cents = nil end)
      assert.has_error(function() m.other = 5 end)
      assert.has_error(function() m.format = function() return "x" end end)
      assert.has_error(function() m[1] = 5 end)
      assert.has_error(function() money.zero.cents = 1 end)
      assert.has_error(function() rawset(m, "cents", 5) end)
      assert_money(m, 150)
      assert_money(money.zero, 0)
      assert.are.equal("$1.50", m:format())
    end)

    it("operations return new values", function()
      local m = money.cents(100)
      local _ = { m + m, m * 3, -m, m:split(3), m:allocate { 1, 2 }, m:percent(10) }
      assert_money(m, 100)
    end)
  end)

  describe("formatting", function()
    local cases = {
      { 0, "$0.00", "0.00" }, { 5, "$0.05", "0.05" }, { -5, "-$0.05", "-0.05" }, { 60, "$0.60", "0.60" },
      { 100, "$1.00", "1.00" }, { -100, "-$1.00", "-1.00" }, { 99999, "$999.99", "999.99" },
      { 100000, "$1,000.00", "1000.00" }, { 123456, "$1,234.56", "1234.56" },
      { -123456, "-$1,234.56", "-1234.56" }, { 12345678, "$123,456.78", "123456.78" },
      { -123456789, "-$1,234,567.89", "-1234567.89" }, { 100000000000, "$1,000,000,000.00", "1000000000.00" },
      { MAX, "$90,071,992,547,409.91", "90071992547409.91" },
      { -MAX, "-$90,071,992,547,409.91", "-90071992547409.91" },
    }
    for _, c in ipairs(cases) do
      it(num(c[1]) .. " cents -> " .. c[2] .. " and " .. c[3], function()
        local m = money.cents(c[1])
        assert.are.equal(c[2], tostring(m))
        assert.are.equal(c[3], m:to_decimal())
        assert.are.equal(c[2], m:format())
        assert.are.equal(c[2], m:format {})
      end)
    end

    local eu = { symbol = "€", decimal = ",", thousands = ".", symbol_after = true }
    local styled = {
      { 123456, eu, "1.234,56€" },
      { -123456, eu, "-1.234,56€" },
      { 5, eu, "0,05€" },
      { -5, eu, "-0,05€" },
      { MAX, eu, "90.071.992.547.409,91€" },
      { -123456, { symbol = " €", decimal = ",", thousands = ".", symbol_after = true }, "-1.234,56 €" },
      { 123456, { symbol = "" }, "1,234.56" },
      { -123456, { symbol = "" }, "-1,234.56" },
      { 123456, { thousands = "" }, "$1234.56" },
      { -123456789, { thousands = "" }, "-$1234567.89" },
      { 123456, { symbol = "", thousands = "" }, "1234.56" },
      { 123456, { symbol_after = true }, "1,234.56$" },
      { -123456, { symbol_after = true }, "-1,234.56$" },
      { 123456789, { thousands = "'" }, "$1'234'567.89" },
      { -123456, { symbol = "USD " }, "-USD 1,234.56" },
      { 100, { symbol = "CHF", symbol_after = false }, "CHF1.00" },
      { 123456, { symbol = string.rep("x", 16) }, string.rep("x", 16) .. "1,234.56" },
      { -MAX, { symbol = string.rep("x", 16), symbol_after = true }, "-90,071,992,547,409.91" .. string.rep("x", 16) },
    }
    for _, c in ipairs(styled) do
      it(num(c[1]) .. " cents -> " .. show(c[3]), function()
        assert.are.equal(c[3], money.cents(c[1]):format(c[2]))
      end)
    end

    it("groups with a multi-byte separator (U+202F) and decimal comma", function()
      local nnbsp = "\226\128\175"
      assert.are.equal("$1" .. nnbsp .. "234" .. nnbsp .. "567,89",
        money.cents(123456789):format { thousands = nnbsp, decimal = "," })
    end)

    it("refuses a symbol longer than 16 bytes", function()
      assert.has_error(function() money.cents(1):format { symbol = string.rep("x", 17) } end)
    end)

    it("long separators are refused or written whole, never cut", function()
      local long = string.rep("-", 40)
      for _, opts in ipairs { { decimal = long }, { thousands = long }, { decimal = long, thousands = long } } do
        local ok, text = pcall(money.cents(-MAX).format, money.cents(-MAX), opts)
        if ok then
          local want = "-$90" .. (opts.thousands or ",") .. "071" .. (opts.thousands or ",") .. "992"
            .. (opts.thousands or ",") .. "547" .. (opts.thousands or ",") .. "409" .. (opts.decimal or ".") .. "91"
          assert.are.equal(want, text)
        end
      end
    end)

    it("the README example", function()
      local price = money.cents(30)
      local total = price * 2
      assert.are.equal("$0.60", tostring(total))
      assert.are.equal(60, total.cents)
      local a, b, c = unpack(money.parse("100.00"):split(3))
      assert.are.equal("$33.34", tostring(a))
      assert.are.equal("$33.33", tostring(b))
      assert.are.equal("$33.33", tostring(c))
    end)
  end)

  describe("money.sum", function()
    it("sums a list, $0.00 when empty", function()
      assert_money(money.sum {}, 0)
      assert_money(money.sum { money.cents(5) }, 5)
      assert_money(money.sum { money.cents(5), money.cents(-7), money.cents(100) }, 98)
      assert_money(money.sum { money.cents(MAX), money.cents(-MAX), money.cents(MAX) }, MAX)
      assert.are.equal("$0.00", tostring(money.sum {}))
    end)

    it("checks only the total: partial sums may leave the range", function()
      assert_money(money.sum { money.cents(MAX), money.cents(1), money.cents(-1) }, MAX)
      assert_money(money.sum { money.cents(-MAX), money.cents(-MAX), money.cents(MAX) }, -MAX)
    end)

    it("raises for non-money items, a non-list and overflow", function()
      assert.has_error(function() money.sum { money.cents(5), 5 } end)
      assert.has_error(function() money.sum { 5 } end)
      assert.has_error(function() money.sum { "1.00" } end)
      assert.has_error(function() money.sum() end)
      assert.has_error(function() money.sum(money.cents(5)) end)
      assert.has_error_match(function() money.sum { money.cents(MAX), money.cents(1) } end, "out of range")
      assert.has_error_match(function() money.sum { money.cents(-MAX), money.cents(-1) } end, "out of range")
    end)
  end)

  describe("m:allocate", function()
    local cases = {
      { 100, { 1, 1, 1 }, { 34, 33, 33 } },
      { 100, { 0, 1, 1 }, { 0, 50, 50 } },
      { -100, { 1, 1, 1 }, { -34, -33, -33 } },
      { 101, { 0, 1, 1 }, { 0, 51, 50 } },
      { -101, { 0, 1, 1 }, { 0, -51, -50 } },
      { 10, { 1, 2, 0, 3 }, { 2, 3, 0, 5 } },
      { 5, { 1, 0 }, { 5, 0 } },
      { 7, { 0, 0, 1 }, { 0, 0, 7 } },
      { 0, { 1, 2, 3 }, { 0, 0, 0 } },
      { 1, { 1, 1, 1 }, { 1, 0, 0 } },
      { -1, { 1, 1, 1 }, { -1, 0, 0 } },
      { 2, { 0, 1, 0, 1, 1 }, { 0, 1, 0, 1, 0 } },
      { 1, { 0, 5 }, { 0, 1 } },
      { 100, { 3, 7 }, { 30, 70 } },
      { 100, { 1 }, { 100 } },
      { 1000, { 1, 1, 1, 1, 1, 1, 1 }, { 143, 143, 143, 143, 143, 143, 142 } },
      { 100, { 2.0, 2.0 }, { 50, 50 } },
      { MAX, { 1, 1 }, { HALF_MAX, HALF_MAX - 1 } },
      { -MAX, { 1, 1 }, { -HALF_MAX, 1 - HALF_MAX } },
      { MAX, { MAX, 1 }, { MAX, 0 } },
      { -MAX, { 1, MAX }, { -1, 1 - MAX } },
      { 100, { MAX, MAX }, { 50, 50 } },
      { MAX, { MAX, MAX, MAX }, { 3002399751580331, 3002399751580330, 3002399751580330 } },
    }
    for _, c in ipairs(cases) do
      it(("%s by {%s}"):format(num(c[1]), table.concat((function()
        local t = {}
        for i, r in ipairs(c[2]) do t[i] = num(r) end
        return t
      end)(), ",")), function()
        local m = money.cents(c[1])
        local parts = m:allocate(c[2])
        assert.are.same(c[3], cents_list(parts))
        assert_money(money.sum(parts), c[1])
        assert_money(m, c[1])
      end)
    end

    local invalid = {
      { {}, "an empty list" }, { { 0 }, "one zero" }, { { 0, 0, 0 }, "all zeros" }, { { -1, 2 }, "a negative ratio" },
      { { 1.5, 1 }, "a fractional ratio" }, { { 1, 0.5 }, "a fraction last" }, { { "1", 1 }, "a string ratio" },
      { { true }, "a boolean ratio" }, { { 1, nan }, "nan" }, { { 1, inf }, "inf" },
      { { MAX + 1 }, "a ratio of 2^53" }, { { 1, {} }, "a table ratio" },
    }
    for _, c in ipairs(invalid) do
      it("raises for " .. c[2], function()
        assert.has_error(function() money.cents(100):allocate(c[1]) end)
      end)
    end

    for _, v in ipairs { { nil, "nil" }, { 3, "a number" }, { "1,1", "a string" } } do
      it("raises for " .. v[2] .. " instead of a list", function()
        assert.has_error(function() money.cents(100):allocate(v[1]) end)
      end)
    end
  end)

  describe("m:split", function()
    local cases = {
      { 100, 3, { 34, 33, 33 } },
      { -100, 3, { -34, -33, -33 } },
      { 5, 1, { 5 } },
      { 0, 4, { 0, 0, 0, 0 } },
      { 1, 3, { 1, 0, 0 } },
      { 10, 4, { 3, 3, 2, 2 } },
      { -10, 4, { -3, -3, -2, -2 } },
      { 10000, 3.0, { 3334, 3333, 3333 } },
      { MAX, 2, { HALF_MAX, HALF_MAX - 1 } },
    }
    for _, c in ipairs(cases) do
      it(("%s by %s"):format(num(c[1]), num(c[2])), function()
        assert.are.same(c[3], cents_list(money.cents(c[1]):split(c[2])))
      end)
    end

    it("one cent in 1000 parts", function()
      local parts = cents_list(money.cents(1):split(1000))
      assert.are.equal(1000, #parts)
      assert.are.equal(1, parts[1])
      for i = 2, 1000 do assert.are.equal(0, parts[i]) end
    end)

    for _, n in ipairs { 0, -1, 1.5, "3", nan, inf, -inf, {}, true } do
      it("raises for n = " .. show(n), function()
        assert.has_error(function() money.cents(100):split(n) end)
      end)
    end
    it("raises for a missing n", function()
      assert.has_error(function() money.cents(100):split() end)
    end)
  end)

  -- The loops below run thousands of times: plain checks, since luassert's
  -- are slow at that count. Messages are built only on failure.
  describe("properties (seed " .. SEED .. ")", function()
    local function check(cond, i, ...)
      if cond then return end
      local parts = { ... }
      for k = 1, select("#", ...) do parts[k] = num(parts[k]) end
      error(("seed %d, iteration %d: %s"):format(SEED, i, table.concat(parts, " ")), 2)
    end

    local function check_money(m, cents, i, ...)
      check(money.is(m), i, "not money:", tostring(m), ...)
      check(m.cents == cents, i, "got", m.cents, "want", cents, ...)
      if HAS_INT then check(math.type(m.cents) == "integer", i, "not an integer", ...) end
      if cents == 0 then check(1 / m.cents > 0, i, "-0", ...) end
    end

    local function cents_of(parts, i, ...)
      local out = {}
      for k = 1, #parts do
        local p = parts[k]
        check(money.is(p), i, "part", k, "is not money", ...)
        if HAS_INT then check(math.type(p.cents) == "integer", i, "part", k, "is not an integer", ...) end
        out[k] = p.cents
      end
      return out
    end

    it("money.parse(m:to_decimal()) == m, and tostring(m) and format read back too", function()
      local g = generator(SEED)
      for i = 1, ITERATIONS do
        local c = random_cents(g)
        local m = money.cents(c)
        local text = m:to_decimal()
        local back, err = money.parse(text)
        check(back == m, i, text, tostring(err))
        check(money.parse(tostring(m)) == m, i, tostring(m))
        check(money.parse(m:format { thousands = "" }) == m, i, m:format { thousands = "" })
        local mode = MODES[g.int(1, #MODES)]
        check(money.parse(text, mode) == m, i, text, mode)
      end
    end)

    it("parse rounds three and more decimals as each mode says", function()
      local g = generator(SEED + 1)
      local tails = { "", "0", "000", "0000000000001", "1", "9" }
      for i = 1, ITERATIONS do
        local mag = abs(random_cents(g))
        local neg = g.int(0, 1) == 1
        local d = g.int(0, 9)
        local tail = tails[g.int(1, #tails)]
        local text = (neg and "-" or "") .. money.cents(mag):to_decimal() .. d .. tail
        -- the dropped fraction, against one half
        local nonzero_tail = tail:find("[1-9]") ~= nil
        local exact = d == 0 and not nonzero_tail
        local vs_half -- -1 below, 0 tie, 1 above
        if d > 5 or (d == 5 and nonzero_tail) then vs_half = 1
        elseif d == 5 then vs_half = 0
        else vs_half = -1 end
        for _, mode in ipairs(MODES) do
          local bump
          if exact then bump = false
          elseif mode == "down" then bump = false
          elseif mode == "up" then bump = true
          elseif mode == "ceil" then bump = not neg
          elseif mode == "floor" then bump = neg
          elseif vs_half ~= 0 then bump = vs_half > 0
          elseif mode == "half_up" then bump = true
          elseif mode == "half_down" then bump = false
          else bump = mag % 2 == 1 end -- half_even
          local r = bump and mag + 1 or mag
          if neg then r = -r end
          local m, err = money.parse(text, mode)
          if abs(r) > MAX then
            check(m == nil and err and err.kind == "invalid_argument", i, text, mode, "should be out of range")
          else
            check(err == nil, i, text, mode, tostring(err))
            check_money(m, r, i, text, mode)
          end
        end
        -- more than two decimals and no mode: refused, even when the extra digits are zeros
        local m, err = money.parse(text)
        check(m == nil and err and err.kind == "invalid_argument", i, text, "without a mode")
      end
    end)

    it("allocate sums exactly, gives zero ratios nothing and follows the rule", function()
      local g = generator(SEED + 2)
      for i = 1, ITERATIONS do
        local exact_model = g.int(0, 1) == 1
        local c = random_cents(g, exact_model and 43 or nil)
        local n = g.int(1, 8)
        local ratios, total = {}, 0
        local big = g.int(0, 3) == 0
        for k = 1, n do
          local r
          if g.int(0, 3) == 0 then r = 0
          elseif big and not exact_model then r = g.bits53() % POW2[g.int(1, 50)]
          else r = g.int(0, 1000) end
          ratios[k] = r
          total = total + r
        end
        if total == 0 then
          local k = g.int(1, n)
          ratios[k], total = 1, 1
        end
        local m = money.cents(c)
        local parts = m:allocate(ratios)
        local list = "{" .. table.concat(ratios, ",") .. "}"
        check(#parts == n, i, c, "by", list, "gave", #parts, "parts")
        local got = cents_of(parts, i, c, "by", list)
        local sum = 0
        for k = 1, n do
          sum = sum + got[k]
          check(ratios[k] ~= 0 or got[k] == 0, i, c, "by", list, "zero ratio got", got[k])
          check((c >= 0 and got[k] >= 0) or (c <= 0 and got[k] <= 0), i, c, "by", list, "sign of part", k)
        end
        check(sum == c, i, c, "by", list, "sums to", sum)
        check_money(money.sum(parts), c, i, c, "by", list)
        if exact_model then -- |c| < 2^43, ratios <= 1000: every product is exact
          local mag, want, left = abs(c), {}, abs(c)
          for k = 1, n do
            want[k] = idiv(mag * ratios[k], total)
            left = left - want[k]
          end
          for k = 1, n do
            if left > 0 and ratios[k] ~= 0 then
              want[k] = want[k] + 1
              left = left - 1
            end
          end
          for k = 1, n do
            if c < 0 then want[k] = -want[k] end
            check(got[k] == want[k], i, c, "by", list, "part", k, "is", got[k], "want", want[k])
          end
        end
      end
    end)

    it("split(n): parts differ by at most one cent, the larger first", function()
      local g = generator(SEED + 3)
      for i = 1, ITERATIONS do
        local c = random_cents(g)
        local n = g.int(1, 40)
        local parts = cents_of(money.cents(c):split(n), i, c, "split", n)
        check(#parts == n, i, c, "split", n, "gave", #parts)
        local sum = 0
        for k = 1, n do
          sum = sum + parts[k]
          check(abs(parts[1] - parts[k]) <= 1, i, c, "split", n, "part", k)
          check(k == 1 or abs(parts[k - 1]) >= abs(parts[k]), i, c, "split", n, "order at", k)
          check((c >= 0 and parts[k] >= 0) or (c <= 0 and parts[k] <= 0), i, c, "split", n, "sign at", k)
        end
        check(sum == c, i, c, "split", n, "sums to", sum)
      end
    end)

    it("a + b - b == a; + and - agree; checked at the boundary", function()
      local g = generator(SEED + 4)
      for i = 1, ITERATIONS do
        local a = random_cents(g)
        local b
        if g.int(0, 1) == 0 then
          b = random_cents(g)
        else -- just around the edge: a + b near +/-MAX
          local edge = (g.int(0, 1) == 0) and MAX or -MAX
          b = edge - a + g.int(-3, 3)
          if abs(b) > MAX then b = edge > 0 and MAX or -MAX end
        end
        local ma, mb = money.cents(a), money.cents(b)
        local s = a + b -- exact on 5.4; on LuaJIT rounded, but |s| > MAX iff the exact sum is
        local ok, r = pcall(function() return ma + mb end)
        check(ok == (abs(s) <= MAX), i, a, "+", b, tostring(r))
        if ok then
          check_money(r, s, i, a, "+", b)
          check(r - mb == ma, i, a, "+", b, "- b")
          check(mb + ma == r, i, b, "+", a)
          check(r - ma == mb, i, a, "+", b, "- a")
        else
          check(tostring(r):find("out of range", 1, true), i, a, "+", b, tostring(r))
        end
        local d = a - b
        local ok2, r2 = pcall(function() return ma - mb end)
        check(ok2 == (abs(d) <= MAX), i, a, "-", b, tostring(r2))
        if ok2 then
          check_money(r2, d, i, a, "-", b)
          check(r2 + mb == ma, i, a, "-", b, "+ b")
          check(-r2 == mb - ma, i, a, "-", b, "negated")
        else
          check(tostring(r2):find("out of range", 1, true), i, a, "-", b, tostring(r2))
        end
        check(-(-ma) == ma, i, a, "- -")
        check((a < b) == (ma < mb), i, a, "<", b)
        check((a <= b) == (ma <= mb), i, a, "<=", b)
        check((a == b) == (ma == mb), i, a, "==", b)
      end
    end)

    it("* by an integer is exact or raises, exactly at the boundary", function()
      local g = generator(SEED + 5)
      for i = 1, ITERATIONS do
        local a, n
        local pick = g.int(0, 2)
        if pick == 0 then
          a, n = random_cents(g), g.int(-1000, 1000)
        elseif pick == 1 then -- a product just around MAX
          n = g.int(2, 100000)
          a = floor(MAX / n) + g.int(-2, 2)
          if g.int(0, 1) == 1 then a = -a end
          if g.int(0, 1) == 1 then n = -n end
        else
          a, n = random_cents(g, 30), random_cents(g, 30)
        end
        local ma = money.cents(a)
        local p = (a + 0.0) * n -- a float: |p| > MAX iff the exact product is
        local ok, r = pcall(function() return ma * n end)
        check(ok == (abs(p) <= MAX), i, a, "*", n, tostring(r))
        local ok2, r2 = pcall(function() return n * ma end)
        check(ok == ok2, i, n, "*", a, tostring(r2))
        if ok then
          check_money(r, a * n, i, a, "*", n)
          check(r == r2, i, n, "*", a)
        else
          check(tostring(r):find("out of range", 1, true), i, a, "*", n, tostring(r))
        end
      end
    end)

    it("money.cents(v) accepts exactly the integers within +/-(2^53 - 1)", function()
      local g = generator(SEED + 6)
      for i = 1, ITERATIONS do
        local v
        local pick = g.int(0, 3)
        if pick == 0 then v = MAX + g.int(-5, 5)
        elseif pick == 1 then v = -MAX + g.int(-5, 5)
        elseif pick == 2 then v = random_cents(g) * g.int(1, 3) -- may leave the range
        else v = random_cents(g, 50) + 0.5 end -- never integral
        local ok, m = pcall(money.cents, v)
        check(ok == (v == floor(v) and abs(v) <= MAX), i, "money.cents(", v, ")", tostring(m))
        if ok then check_money(m, v, i, "money.cents(", v, ")") end
      end
    end)

    it("percent(100) is m, percent(0) is zero, percent(-100) is -m, percent(50) halves", function()
      local g = generator(SEED + 7)
      for i = 1, ITERATIONS do
        local c = random_cents(g)
        local m = money.cents(c)
        local mode = MODES[g.int(1, #MODES)]
        check(m:percent(100, mode) == m, i, c, "percent(100)", mode)
        check(m:percent("100.00", mode) == m, i, c, "percent(\"100.00\")", mode)
        check_money(m:percent(0, mode), 0, i, c, "percent(0)", mode)
        check(m:percent(-100, mode) == -m, i, c, "percent(-100)", mode)
        local half = m:percent(50, mode).cents
        local down = (c >= 0) and idiv(c, 2) or -idiv(-c, 2) -- toward zero
        if c % 2 == 0 then
          check(half == down, i, c, "percent(50)", mode, "gave", half)
        else -- a tie: the mode decides
          local away = down + (c > 0 and 1 or -1)
          local want
          if mode == "half_even" then want = (down % 2 == 0) and down or away
          elseif mode == "half_up" or mode == "up" then want = away
          elseif mode == "half_down" or mode == "down" then want = down
          elseif mode == "ceil" then want = c > 0 and away or down
          else want = c > 0 and down or away end -- floor
          check(half == want, i, c, "percent(50)", mode, "gave", half, "want", want)
        end
      end
    end)
  end)
end)
