-- Integer-cents primitives of proxyshard.core (docs/transport.md).
-- Runs on Lua 5.4 and LuaJIT: on 5.4 results must be Lua integers.
local ok, core = pcall(require, "proxyshard.core")
if not ok then
  package.cpath = "build/lib/?.so;" .. package.cpath
  core = require "proxyshard.core"
end

local MAX = 9007199254740991 -- 2^53 - 1, exact as integer and as double
local HAS_INT = math.type ~= nil
local nan = 0 / 0
local inf = math.huge
-- Built at run time: Lua 5.1 folds the literal -0.0 into the constant 0.
local NEGZERO = -tonumber("0.0")

local function is_integer(v)
  if HAS_INT then return math.type(v) == "integer" end
  return type(v) == "number" and v == math.floor(v)
end

local function show(v)
  if type(v) == "number" and v == 0 and 1 / v < 0 then return "-0.0" end
  return tostring(v)
end

-- Values every arithmetic function must refuse as cents.
local BAD = {
  { 1.5, "fraction" }, { 0.1, "small fraction" }, { -2.25, "negative fraction" },
  { inf, "inf" }, { -inf, "-inf" }, { nan, "nan" },
  { MAX + 1, "2^53" }, { -(MAX + 1), "-2^53" }, { 1e300, "huge float" },
  { "5", "numeric string" }, { true, "boolean" }, { {}, "table" },
}
if HAS_INT then
  BAD[#BAD + 1] = { math.maxinteger, "math.maxinteger" }
  BAD[#BAD + 1] = { math.mininteger, "math.mininteger" }
end

describe("proxyshard.core cents", function()
  it("exports MAX_CENTS = 2^53 - 1", function()
    assert.equal(MAX, core.MAX_CENTS)
    assert.is_true(is_integer(core.MAX_CENTS))
  end)

  describe("cents_add", function()
    local cases = {
      { 0, 0, 0 }, { 1, 2, 3 }, { -5, 3, -2 }, { 12345, -12345, 0 },
      { MAX, 0, MAX }, { MAX - 1, 1, MAX }, { -MAX, 0, -MAX },
      { -MAX + 1, -1, -MAX }, { MAX, -MAX, 0 }, { 150.0, 1, 151 },
      { NEGZERO, 7, 7 },
    }
    for _, c in ipairs(cases) do
      it(("%s + %s = %s"):format(show(c[1]), show(c[2]), show(c[3])), function()
        local r = core.cents_add(c[1], c[2])
        assert.equal(c[3], r)
        assert.is_true(is_integer(r))
        assert.equal(c[3], core.cents_add(c[2], c[1]))
      end)
    end

    for _, c in ipairs { { MAX, 1 }, { -MAX, -1 }, { MAX, MAX }, { -MAX, -MAX }, { 1, MAX } } do
      it(("raises on overflow: %s + %s"):format(show(c[1]), show(c[2])), function()
        assert.has_error_match(function() core.cents_add(c[1], c[2]) end, "out of range")
      end)
    end

    for _, b in ipairs(BAD) do
      it("rejects " .. b[2], function()
        assert.has_error(function() core.cents_add(b[1], 1) end)
        assert.has_error(function() core.cents_add(1, b[1]) end)
      end)
    end

    it("rejects a missing argument", function()
      assert.has_error(function() core.cents_add(1) end)
    end)
  end)

  describe("cents_sub", function()
    local cases = {
      { 5, 3, 2 }, { 3, 5, -2 }, { 0, MAX, -MAX }, { 0, -MAX, MAX },
      { MAX, MAX, 0 }, { -MAX + 1, 1, -MAX }, { MAX - 1, -1, MAX }, { 200.0, 50.0, 150 },
    }
    for _, c in ipairs(cases) do
      it(("%s - %s = %s"):format(show(c[1]), show(c[2]), show(c[3])), function()
        local r = core.cents_sub(c[1], c[2])
        assert.equal(c[3], r)
        assert.is_true(is_integer(r))
      end)
    end

    for _, c in ipairs { { -MAX, 1 }, { MAX, -1 }, { -MAX, MAX }, { MAX, -MAX } } do
      it(("raises on overflow: %s - %s"):format(show(c[1]), show(c[2])), function()
        assert.has_error_match(function() core.cents_sub(c[1], c[2]) end, "out of range")
      end)
    end

    for _, b in ipairs(BAD) do
      it("rejects " .. b[2], function()
        assert.has_error(function() core.cents_sub(b[1], 1) end)
        assert.has_error(function() core.cents_sub(1, b[1]) end)
      end)
    end
  end)

  describe("cents_mul", function()
    local cases = {
      { 0, 5, 0 }, { 5, 0, 0 }, { 250, 3, 750 }, { -250, 3, -750 }, { -250, -3, 750 },
      { MAX, 1, MAX }, { MAX, -1, -MAX }, { -MAX, -1, MAX }, { 0, MAX, 0 },
      { 4503599627370495, 2, MAX - 1 }, { 3002399751580330, 3, 9007199254740990 },
      { 199, 2.0, 398 },
    }
    for _, c in ipairs(cases) do
      it(("%s * %s = %s"):format(show(c[1]), show(c[2]), show(c[3])), function()
        local r = core.cents_mul(c[1], c[2])
        assert.equal(c[3], r)
        assert.is_true(is_integer(r))
      end)
    end

    local overflows = {
      { 4503599627370496, 2 },  -- exactly 2^53
      { -4503599627370496, 2 }, -- exactly -2^53
      { 3002399751580331, 3 },  -- 2^53 + 2
      { MAX, 2 }, { MAX, -2 }, { MAX, MAX }, { -MAX, MAX }, -- the last two wrap int64
    }
    for _, c in ipairs(overflows) do
      it(("raises on overflow: %s * %s"):format(show(c[1]), show(c[2])), function()
        assert.has_error_match(function() core.cents_mul(c[1], c[2]) end, "out of range")
      end)
    end

    for _, b in ipairs(BAD) do
      it("rejects " .. b[2], function()
        assert.has_error(function() core.cents_mul(b[1], 2) end)
        assert.has_error(function() core.cents_mul(2, b[1]) end)
      end)
    end
  end)

  describe("cents_check", function()
    local good = {
      { 0, 0 }, { 5, 5 }, { -5, -5 }, { MAX, MAX }, { -MAX, -MAX },
      { 150.0, 150 }, { -150.0, -150 }, { 0.0, 0 }, { 9007199254740990.0, 9007199254740990 },
    }
    for _, g in ipairs(good) do
      it("accepts " .. show(g[1]), function()
        local v, err = core.cents_check(g[1])
        assert.is_nil(err)
        assert.equal(g[2], v)
        assert.is_true(is_integer(v))
      end)
    end

    local bad = {
      { NEGZERO, "-0.0" }, { 1.5, "1.5" }, { -0.5, "-0.5" }, { inf, "inf" }, { -inf, "-inf" },
      { nan, "nan" }, { MAX + 1, "2^53" }, { -(MAX + 1), "-2^53" }, { 1e20, "1e20" },
      { "150", "string" }, { nil, "nil" }, { true, "boolean" }, { {}, "table" },
    }
    if HAS_INT then bad[#bad + 1] = { math.mininteger, "math.mininteger" } end
    for _, b in ipairs(bad) do
      it("returns nil, message for " .. b[2], function()
        local v, err = core.cents_check(b[1])
        assert.is_nil(v)
        assert.is_string(err)
      end)
    end

    it("never raises, even without an argument", function()
      local v, err = core.cents_check()
      assert.is_nil(v)
      assert.is_string(err)
    end)
  end)

  describe("cents_format", function()
    local cases = {
      { 0, "0.00" }, { 5, "0.05" }, { -5, "-0.05" }, { 100, "1.00" }, { 1234, "12.34" },
      { 123456, "1234.56" }, { -123456, "-1234.56" }, { -100, "-1.00" }, { 99, "0.99" },
      { MAX, "90071992547409.91" }, { -MAX, "-90071992547409.91" }, { 150.0, "1.50" },
      { NEGZERO, "0.00" },
    }
    for _, c in ipairs(cases) do
      it(("%s -> %s"):format(show(c[1]), c[2]), function()
        assert.equal(c[2], core.cents_format(c[1]))
      end)
    end

    for _, b in ipairs(BAD) do
      it("rejects " .. b[2], function()
        assert.has_error(function() core.cents_format(b[1]) end)
      end)
    end
  end)
end)
