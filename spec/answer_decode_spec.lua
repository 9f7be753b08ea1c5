-- core.shape and core.decode (csrc/answer.c): JSON answers read straight
-- into Lua values by a compiled shape (proxyshard.shapes' notation), exact
-- for integers: what proxyshard.engine.response reads every answer with.
-- This spec is the decoder's contract:
--
--   core.shape(t)          a "proxyshard.core.shape" userdata; raises on a
--                          malformed shape. A top shape whose one key is
--                          `list` is a bare JSON array.
--                          Read-only once made: one shape serves any number
--                          of decodes.
--   core.decode(text, shape [, max_depth])
--                          the value, or nil, path, message. path is like
--                          "order.addons[2].qty" (items 1-based), "" for
--                          the top; the message says what is wrong.
--
--   numbers    read from their digits, never through a double: accepted
--              where the exact decimal value is an integer within
--              +/-(2^53 - 1) (60, 60.0, 6.0e1, 6000e-2, 0e-400); else
--              "not an integer (got 60.5)", "out of range (got 1e400)",
--              "negative zero (got -0)". "money" and "price": integer
--              cents (messages "not integer cents: ..."); a price >= 0.
--   strings    escapes decoded (\uXXXX, surrogate pairs as one character),
--              raw bytes valid UTF-8 (no overlong, no surrogate, nothing
--              above U+10FFFF), no control character below 0x20.
--   kinds      JSON types: an object kind takes an object only (not []), a
--              list kind an array only; a list is a plain Lua sequence.
--   null       absent; unknown fields checked as JSON only; required
--              fields absent refused ("required field missing", the path
--              names the first; "required fields missing: a, c").
--   duplicates each value checked as it comes, the last one kept (a last
--              null removes the field), as lua-cjson keeps the last.
--   bounds     one JSON value with whitespace around it; nested at most
--              max_depth (default 32, 1..256) deep, skipped values too.
--   order      the first problem in the text's order is the one reported.
--
-- The differential part decodes ~2000 generated answers of the real shapes
-- (proxyshard.shapes, proxyshard.operations) and compares every decision
-- with Python's json + decimal.Decimal (pending without python3).
-- Runs unchanged on Lua 5.4 and LuaJIT.
local core = require "proxyshard.core"
local shapes = require "proxyshard.shapes"
local operations = require "proxyshard.operations"
local is_exact_integer = require "support.exact"

local MAX = 9007199254740991 -- 2^53 - 1
local HAS_INT = math.type ~= nil
local concat = table.concat
local sort = table.sort
local format = string.format

-- one shape with every kind
local S = core.shape {
  n = "integer", m = "money", p = "price", s = "string", b = "boolean",
  o = { object = { x = "integer", y = { list = "string" }, required = { "x" } } },
  l = { list = { qty = "integer", name = "string" } },
  ls = { list = "string" }, li = { list = "integer" }, lp = { list = "price" },
}

-- Test names stay on one TAP line, whatever bytes the text holds.
local function show(s)
  return (s:gsub("[%c\"\\\128-\255]", function(c) return ("\\%d"):format(c:byte()) end))
end

local function accepts(text, want, shape, depth)
  local v, path, msg = core.decode(text, shape or S, depth)
  assert(v ~= nil, "refused at '" .. tostring(path) .. "': " .. tostring(msg))
  assert.are.same(want, v)
  return v
end

local function refuses(text, want_path, want_msg, shape, depth)
  local v, path, msg = core.decode(text, shape or S, depth)
  assert.is_nil(v)
  assert.are.equal(want_path, path)
  assert.are.equal(want_msg, msg)
end

-- {"field": <text>} read by S
local function field(name, text)
  return '{"' .. name .. '":' .. text .. "}"
end

describe("core.shape", function()
  it("compiles every answer of proxyshard.operations and every shape of proxyshard.shapes", function()
    local n = 0
    for _, rows in pairs(operations.by_handle) do
      for _, row in ipairs(rows) do
        if row.answer then
          local shape = core.shape(row.answer)
          assert.are.equal("userdata", type(shape))
          n = n + 1
        end
      end
    end
    assert.is_true(n >= 30)
    for name, shape in pairs(shapes) do
      assert(pcall(core.shape, shape), name)
    end
  end)

  it("is a named userdata that prints as itself", function()
    assert.matches("^proxyshard%.core%.shape %(%d+ fields%): ", tostring(S))
    assert.matches("^proxyshard%.core%.shape %(23 fields%)", tostring(core.shape(shapes.order)))
  end)

  it("is not changed by the table it was compiled from", function()
    local t = { a = "integer" }
    local shape = core.shape(t)
    t.a = "string"
    t.b = "integer"
    accepts('{"a": 1, "b": 2}', { a = 1 }, shape)
  end)

  it("compiles a shape used in several places once, and keeps each place's path", function()
    local item = { v = "integer" }
    local shape = core.shape {
      p = { object = item }, q = { list = item }, r = { object = { deep = { object = item } } },
    }
    accepts('{"p": {"v": 1}, "q": [{"v": 2}], "r": {"deep": {"v": 3}}}',
      { p = { v = 1 }, q = { { v = 2 } }, r = { deep = { v = 3 } } }, shape)
    refuses('{"r": {"deep": {"v": "x"}}}', "r.deep.v", "not a number (got string)", shape)
  end)

  local malformed = {
    { "an unknown type", { n = "int" }, "field 'n': no type 'int'" },
    { "an unknown type of a list", { n = { list = "float" } }, "field 'n': no type 'float'" },
    { "a name that is not a string", { "integer" }, "a field name must be a string, got number" },
    { "a type that is a number", { n = 5 }, "field 'n': a type name or a table expected, got number" },
    { "an empty type table", { n = {} }, "field 'n': a type table is { object = shape }" },
    { "object and list together", { n = { object = {}, list = "string" } }, "field 'n': a type table is" },
    { "a list of a number", { n = { list = 5 } }, "field 'n': a type table is" },
    { "an object that is a string", { n = { object = "integer" } }, "field 'n': a type table is" },
    { "required that is a string", { n = "integer", required = "n" }, "`required` must be a list of field names" },
    { "required naming a number", { n = "integer", required = { 5 } }, "`required` must be a list of field names" },
    { "required naming no field", { n = "integer", required = { "zz" } }, "required field 'zz' is not in the shape" },
    { "required requiring itself", { n = "integer", required = { "required" } },
      "required field 'required' is not in the shape" },
    { "an empty field name", { [""] = "integer" }, "field name '' is empty or longer than 255 bytes" },
    { "a field name of 256 bytes", { [("x"):rep(256)] = "integer" }, "is empty or longer than 255 bytes" },
  }
  for _, case in ipairs(malformed) do
    it("raises on a malformed shape: " .. case[1], function()
      local ok, err = pcall(core.shape, case[2])
      assert.is_false(ok)
      assert.matches("^proxyshard%.core%.shape: ", err)
      assert.matches(case[3], err, 1, true)
    end)
  end

  it("raises on a shape that contains itself", function()
    local t = { n = "integer" }
    t.me = { object = t }
    local ok, err = pcall(core.shape, t)
    assert.is_false(ok)
    assert.matches("a shape that contains itself", err, 1, true)
    local u = { n = "integer" }
    u.items = { list = { inner = { object = u } } }
    assert.is_false((pcall(core.shape, u)))
  end)

  it("takes a field name of 255 bytes, and a table only", function()
    local name = ("x"):rep(255)
    accepts('{"' .. name .. '": 1}', { [name] = 1 }, core.shape { [name] = "integer" })
    assert.is_false((pcall(core.shape, "integer")))
    assert.is_false((pcall(core.shape)))
  end)
end)

describe("core.decode", function()
  describe("numbers", function()
    local exact = {
      { "60", 60 }, { "60.0", 60 }, { "6.0e1", 60 }, { "6000e-2", 60 }, { "6E1", 60 }, { "6e+1", 60 },
      { "0.6e2", 60 }, { "0.06E3", 60 }, { "600000e-4", 60 }, { "60.000000000000000000000", 60 },
      { "-60", -60 }, { "-6.0e1", -60 }, { "0", 0 }, { "0.0", 0 }, { "0e-400", 0 }, { "0e400", 0 },
      { "0.000e-99999999999999999999", 0 }, { "9007199254740991", MAX }, { "-9007199254740991", -MAX },
      { "9.007199254740991e15", MAX }, { "90071992547409910e-1", MAX }, { "9007199254740991.000000", MAX },
      { "900719925474099.1e1", MAX }, { "1e15", 1000000000000000 }, { "100000000000000000000e-20", 1 },
      { "0.00000000000000000001e20", 1 }, { "1" .. ("0"):rep(400) .. "e-400", 1 }, { "12345", 12345 },
    }
    for _, case in ipairs(exact) do
      it("reads " .. case[1] .. " as the integer " .. format("%.0f", case[2]), function()
        local v = accepts(field("n", case[1]), { n = case[2] })
        assert.is_true(is_exact_integer(v.n))
      end)
    end

    local refused = {
      { "60.5", "not an integer" }, { "60.000000000000001", "not an integer" }, { "0.1", "not an integer" },
      { "1e-400", "not an integer" }, { "1.5e-1", "not an integer" }, { "-0.5", "not an integer" },
      { "9007199254740991.5", "not an integer" }, { "1e-99999999999999999999", "not an integer" },
      { "12345678901234567890e-5", "not an integer" },
      { "1e400", "out of range" }, { "9007199254740992", "out of range" }, { "-9007199254740992", "out of range" },
      { "9007199254740992.0", "out of range" }, { "900719925474099.2e1", "out of range" },
      { "1e16", "out of range" }, { "12345678901234567890", "out of range" },
      { "1e99999999999999999999", "out of range" }, { "18446744073709551616", "out of range" },
      { "-0", "negative zero" }, { "-0.0", "negative zero" }, { "-0e5", "negative zero" },
      { "-0.000e-400", "negative zero" },
    }
    for _, case in ipairs(refused) do
      it("refuses " .. case[1] .. ": " .. case[2], function()
        refuses(field("n", case[1]), "n", case[2] .. " (got " .. case[1] .. ")")
      end)
    end

    it("shows at most 40 bytes of a refused number", function()
      local long = "1." .. ("5"):rep(60)
      refuses(field("n", long), "n", "not an integer (got " .. long:sub(1, 40) .. "...)")
    end)

    local invalid = { "01", "-", "1.", ".5", "+1", "1e", "1e+", "0x10", "NaN", "Infinity", "-Infinity",
      "1.e5", "--1", "-a", "00" }
    for _, text in ipairs(invalid) do
      it("refuses " .. text .. " as invalid JSON", function()
        local v, path, msg = core.decode(field("n", text), S)
        assert.is_nil(v)
        assert.matches("^invalid JSON", msg)
        assert.is_string(path)
      end)
    end

    it("names the byte of an invalid number", function()
      refuses('{"n": 1.}', "n", "invalid JSON at byte 9: a digit expected after the decimal point")
      refuses('{"n": 01}', "n", "invalid JSON at byte 8: a number with a leading zero")
      refuses('{"n": -}', "n", "invalid JSON at byte 8: a digit expected in a number")
      refuses('{"n": 1e}', "n", "invalid JSON at byte 9: a digit expected in an exponent")
      refuses('{"n": 1', "", "invalid JSON: ',' or '}' expected at the end of the text")
    end)

    it("reads money as integer cents, of either sign", function()
      local v = accepts('{"m": 1999, "p": 0}', { m = 1999, p = 0 })
      assert.is_true(is_exact_integer(v.m))
      accepts('{"m": -1500, "p": 25.00}', { m = -1500, p = 25 })
      accepts('{"m": 9007199254740991, "p": 9007199254740991}', { m = MAX, p = MAX })
      accepts('{"m": -9007199254740991}', { m = -MAX })
    end)

    it("refuses money that is not integer cents", function()
      refuses('{"m": 19.99}', "m", "not integer cents: not an integer (got 19.99)")
      refuses('{"m": "19.99"}', "m", "not integer cents: not a number (got string)")
      refuses('{"m": 1e17}', "m", "not integer cents: out of range (got 1e17)")
      refuses('{"m": -0}', "m", "not integer cents: negative zero (got -0)")
      refuses('{"m": true}', "m", "not integer cents: not a number (got true)")
    end)

    it("refuses a negative price", function()
      refuses('{"p": -1}', "p", "a negative price (got -1)")
      refuses('{"p": -1.0e2}', "p", "a negative price (got -1.0e2)")
      refuses('{"p": -0.0}', "p", "not integer cents: negative zero (got -0.0)")
      refuses('{"p": 0.5}', "p", "not integer cents: not an integer (got 0.5)")
      refuses('{"lp": [1, 2, -3]}', "lp[3]", "a negative price (got -3)")
      accepts('{"lp": [1, 2e2, 3.0]}', { lp = { 1, 200, 3 } })
    end)

    it("refuses anything but a number where a number is wanted", function()
      refuses('{"n": "5"}', "n", "not a number (got string)")
      refuses('{"n": true}', "n", "not a number (got true)")
      refuses('{"n": false}', "n", "not a number (got false)")
      refuses('{"n": {}}', "n", "not a number (got object)")
      refuses('{"n": [5]}', "n", "not a number (got array)")
      refuses('{"li": [1, null]}', "li[2]", "not a number (got null)")
    end)

    if HAS_INT then
      it("gives integers of Lua's integer subtype", function()
        local v = accepts('{"n": 6.0e1, "m": 6000e-2, "p": 60.0, "li": [1.0, 2e0]}',
          { n = 60, m = 60, p = 60, li = { 1, 2 } })
        assert.are.equal("integer", math.type(v.n))
        assert.are.equal("integer", math.type(v.m))
        assert.are.equal("integer", math.type(v.p))
        assert.are.equal("integer", math.type(v.li[1]))
        assert.are.equal("integer", math.type(v.li[2]))
      end)
    end
  end)

  describe("strings", function()
    local good = {
      { [["a\"b\\c\/d\be\ff\ng\rh\ti"]], "a\"b\\c/d\be\ff\ng\rh\ti" },
      { [["\u0041\u00e9\u00E9\u20ac"]], "A\195\169\195\169\226\130\172" },
      { [["\ud83d\ude00"]], "\240\159\152\128" },
      { [["\uD83D\uDE00!"]], "\240\159\152\128!" },
      { [["\udbff\udfff"]], "\244\143\191\191" },
      { [["a\u0000b"]], "a\0b" },
      { [["\u007f\u0080\u07ff\u0800\uffff"]], "\127\194\128\223\191\224\160\128\239\191\191" },
      { '"\195\169\226\130\172\240\159\152\128\244\143\191\191"',
        "\195\169\226\130\172\240\159\152\128\244\143\191\191" },
      { '"\127 ~"', "\127 ~" },
      { '""', "" },
      { '"' .. ("x"):rep(10000) .. '"', ("x"):rep(10000) },
      { '"' .. ("\\n"):rep(5000) .. '"', ("\n"):rep(5000) },
    }
    for _, case in ipairs(good) do
      it("reads " .. show(case[1]:sub(1, 60)), function()
        accepts(field("s", case[1]), { s = case[2] })
      end)
    end

    local bad = {
      { '"a\1b"', 8, "a control character in a string" },
      { '"\31"', 7, "a control character in a string" },
      { '"a\nb"', 8, "a control character in a string" },
      { '"a\tb"', 8, "a control character in a string" },
      { '"\192\175"', 7, "invalid UTF-8 in a string" },          -- overlong "/"
      { '"\224\128\175"', 7, "invalid UTF-8 in a string" },      -- overlong, 3 bytes
      { '"\240\128\128\175"', 7, "invalid UTF-8 in a string" },  -- overlong, 4 bytes
      { '"\193\191"', 7, "invalid UTF-8 in a string" },          -- overlong U+007F
      { '"\237\160\128"', 7, "invalid UTF-8 in a string" },      -- U+D800, a surrogate
      { '"\237\191\191"', 7, "invalid UTF-8 in a string" },      -- U+DFFF
      { '"\244\144\128\128"', 7, "invalid UTF-8 in a string" },  -- U+110000
      { '"\245\128\128\128"', 7, "invalid UTF-8 in a string" },
      { '"\255"', 7, "invalid UTF-8 in a string" },
      { '"\128"', 7, "invalid UTF-8 in a string" },              -- a lone continuation
      { '"a\226\130"', 8, "invalid UTF-8 in a string" },         -- cut short
      { '"\226\130x"', 7, "invalid UTF-8 in a string" },
      { '"\195"', 7, "invalid UTF-8 in a string" },
      { [["\ud800"]], 7, "a lone high surrogate" },
      { [["\ud800x"]], 7, "a lone high surrogate" },
      { [["\ud800\u0041"]], 7, "a lone high surrogate" },
      { [["\ud800\ud800"]], 7, "a lone high surrogate" },
      { [["\udc00"]], 7, "a lone low surrogate" },
      { [["\ude00\ud83d"]], 7, "a lone low surrogate" },
      { [["\a"]], 7, "a bad escape" },
      { [["\x41"]], 7, "a bad escape" },
      { [["\u12"]], 7, "a bad \\u escape" },
      { [["\u12g4"]], 7, "a bad \\u escape" },
      { [["\U0041"]], 7, "a bad escape" },
    }
    for _, case in ipairs(bad) do
      it("refuses " .. show(case[1]) .. ": " .. case[3], function()
        refuses(field("s", case[1]), "s", ("invalid JSON at byte %d: %s"):format(case[2], case[3]))
      end)
    end

    it("refuses an unterminated string", function()
      refuses('{"s": "abc', "s", "invalid JSON: an unterminated string at the end of the text")
      refuses('{"s": "abc\\', "s", "invalid JSON at byte 11: an unterminated string")
      refuses('{"s": "\\u12', "s", "invalid JSON at byte 8: a bad \\u escape")
    end)

    it("checks strings it skips and field names the same way", function()
      refuses('{"zz": "\192\175", "n": 1}', "", "invalid JSON at byte 9: invalid UTF-8 in a string")
      refuses('{"zz": ["\\ud800"]}', "", "invalid JSON at byte 10: a lone high surrogate")
      refuses('{"z\1": 1}', "", "invalid JSON at byte 4: a control character in a string")
      refuses('{"o": {"x": 1, "\255": 2}}', "o", "invalid JSON at byte 17: invalid UTF-8 in a string")
    end)

    it("refuses anything but a string where a string is wanted", function()
      refuses('{"s": 5}', "s", "not a string (got 5)")
      refuses('{"s": -1.5e3}', "s", "not a string (got -1.5e3)")
      refuses('{"s": true}', "s", "not a string (got true)")
      refuses('{"s": {"a": "b"}}', "s", "not a string (got object)")
      refuses('{"ls": ["a", null]}', "ls[2]", "not a string (got null)")
      refuses('{"ls": ["a", "b", ["c"]]}', "ls[3]", "not a string (got array)")
    end)

    it("matches field names given with escapes", function()
      accepts('{"\\u006e": 5, "l\\u0073": ["\\u0041"], "\\ud83d\\ude00": 1}', { n = 5, ls = { "A" } })
      accepts('{"' .. ("\\u0078"):rep(300) .. '": 1, "n": 2}', { n = 2 })
    end)
  end)

  describe("booleans, null, objects and lists", function()
    it("reads booleans", function()
      accepts('{"b": true}', { b = true })
      accepts('{"b": false}', { b = false })
      refuses('{"b": "true"}', "b", "not a boolean (got string)")
      refuses('{"b": 1}', "b", "not a boolean (got 1)")
      refuses('{"b": null, "s": true}', "s", "not a string (got true)")
      refuses('{"b": tru}', "b", "invalid JSON at byte 7: an unknown literal")
      refuses('{"b": True}', "b", "invalid JSON at byte 7: a value expected")
      refuses('{"b": nul}', "b", "invalid JSON at byte 7: an unknown literal")
    end)

    it("reads null as absent", function()
      accepts('{"n": null, "s": null, "o": null, "l": null, "ls": null, "b": null}', {})
      refuses('{"o": {"x": null}}', "o.x", "required field missing")
      refuses('{"li": [null]}', "li[1]", "not a number (got null)")
      refuses('{"l": [null]}', "l[1]", "not a JSON object (got null)")
    end)

    it("skips fields the shape does not have, checking them as JSON", function()
      accepts('{"zz": {"deep": [1, 2.5, 1e999, {"x": "y", "z": [true, false, null]}]}, "n": 1, "w": -0}', { n = 1 })
      accepts('{"o": {"x": 1, "unknown": {"x": "not a number"}}}', { o = { x = 1 } })
      refuses('{"zz": [1,], "n": 1}', "", "invalid JSON at byte 11: a value expected")
      refuses('{"zz": {"a" 1}}', "", "invalid JSON at byte 13: ':' expected")
      refuses('{"zz": {"a": 1,}}', "", "invalid JSON at byte 16: a field name expected")
      refuses('{"zz": {"a": 1 "b": 2}}', "", "invalid JSON at byte 16: ',' or '}' expected")
      refuses('{"zz": [1 2]}', "", "invalid JSON at byte 11: ',' or ']' expected")
      refuses('{"zz": 01}', "", "invalid JSON at byte 9: a number with a leading zero")
      refuses('{"zz": nil}', "", "invalid JSON at byte 8: an unknown literal")
      refuses('{"zz": }', "", "invalid JSON at byte 8: a value expected")
    end)

    it("reads nested objects and lists, with the path of a wrong item", function()
      accepts('{"o": {"x": 1, "y": ["a", "b"]}, "l": [{"qty": 1, "name": "n"}, {}], "ls": [], "li": [3]}',
        { o = { x = 1, y = { "a", "b" } }, l = { { qty = 1, name = "n" }, {} }, ls = {}, li = { 3 } })
      refuses('{"l": [{"qty": 1}, {"qty": 2.5}]}', "l[2].qty", "not an integer (got 2.5)")
      refuses('{"o": {"x": 1, "y": ["a", 5]}}', "o.y[2]", "not a string (got 5)")
      refuses('{"o": {"y": []}}', "o.x", "required field missing")
      refuses('{"l": [{"qty": 1}, 5]}', "l[2]", "not a JSON object (got 5)")
    end)

    it("refuses an object kind that is not an object, a list kind that is not an array", function()
      -- an empty array for a nested object, an empty object for a list: what
      -- a server serialising maps writes (read as the empty value they are)
      refuses('{"o": []}', "o.x", "required field missing")
      refuses('{"o": [1]}', "o", "not a JSON object (got array)")
      refuses('{"o": "x"}', "o", "not a JSON object (got string)")
      refuses('{"o": 1}', "o", "not a JSON object (got 1)")
      accepts('{"l": {}}', { l = {} })
      accepts('{"l": { } }', { l = {} })
      refuses('{"l": {"a": 1}}', "l", "not a list (got object)")
      refuses('{"ls": "a"}', "ls", "not a list (got string)")
      refuses('{"li": 5}', "li", "not a list (got 5)")
      refuses('{"o": [1, }', "o", "invalid JSON at byte 11: a value expected")
    end)

    it("gives the paths of the real shapes", function()
      local fetch = core.shape(operations.find("order", "fetch").answer)
      refuses('{"order": {"addons": [{"qty": 1}, {"qty": "2"}]}}', "order.addons[2].qty", "not a number (got string)",
        fetch)
      refuses('{"order": {"addons": [{"pending": {"next_qty": 1.5}}]}}', "order.addons[1].pending.next_qty",
        "not an integer (got 1.5)", fetch)
      refuses('{"order": {"price_paid": -100}}', "order.price_paid", "a negative price (got -100)", fetch)
      refuses('{"success": true}', "order", "required field missing", fetch)
      refuses('{"success": true, "order": null}', "order", "required field missing", fetch)
      local v = accepts('{"success": true, "order": {"order_id": 12345, "price_paid": 1999, "addons": ' ..
        '[{"addon_key": "p0f_slots", "qty": 2, "price_per_unit": 2.5e2, "pending": {"action": "downgrade", ' ..
        '"next_qty": 1}}], "auto_renewal": false, "tag": null, "promo_code": "X"}}',
        { success = true, order = { order_id = 12345, price_paid = 1999, auto_renewal = false, promo_code = "X",
          addons = { { addon_key = "p0f_slots", qty = 2, price_per_unit = 250,
            pending = { action = "downgrade", next_qty = 1 } } } } }, fetch)
      assert.is_true(is_exact_integer(v.order.addons[1].price_per_unit))
    end)

    it("names every missing required field", function()
      local shape = core.shape { a = "integer", b = "integer", c = "integer", required = { "a", "b", "c" } }
      refuses('{"b": 1}', "a", "required fields missing: a, c", shape)
      refuses('{"a": 1, "b": 1}', "c", "required field missing", shape)
      refuses('{}', "a", "required fields missing: a, b, c", shape)
      accepts('{"a": 1, "b": 2, "c": 3}', { a = 1, b = 2, c = 3 }, shape)
    end)

    it("keeps the last of duplicate keys, checking each", function()
      accepts('{"n": 1, "n": 2}', { n = 2 })
      accepts('{"n": 1, "n": null}', {})
      accepts('{"l": [{"qty": 1}], "l": []}', { l = {} })
      accepts('{"n": 1, "\\u006e": 3}', { n = 3 })
      refuses('{"n": "x", "n": 2}', "n", "not a number (got string)")
      refuses('{"o": {"x": 1}, "o": {}}', "o.x", "required field missing")
    end)

    it("reads an answer that is a bare JSON array", function()
      local available = core.shape(operations.find("client", "available").answer)
      accepts('[{"country": "US", "amount": 5}, {"amount": 6e0}]', { { country = "US", amount = 5 }, { amount = 6 } },
        available)
      accepts("[]", {}, available)
      refuses('[{"amount": 5}, {"amount": 1.5}]', "[2].amount", "not an integer (got 1.5)", available)
      refuses('{"amount": 5}', "", "not a list (got object)", available)
      accepts('["a", "b"]', { "a", "b" }, core.shape { list = "string" })
    end)
  end)

  describe("the text as a whole", function()
    it("takes whitespace around one value", function()
      accepts(' \t\r\n{ "n" : 1 , "s" : "x" }\n\t ', { n = 1, s = "x" })
      accepts("{}", {})
    end)

    it("refuses anything after the value, and an empty text", function()
      refuses('{"n": 1} {}', "", "invalid JSON at byte 10: text after the JSON value")
      refuses('{"n": 1}x', "", "invalid JSON at byte 9: text after the JSON value")
      refuses('{"n": 1}\0', "", "invalid JSON at byte 9: text after the JSON value")
      refuses("", "", "invalid JSON: no value (an empty text)")
      refuses(" \n\t", "", "invalid JSON: no value (an empty text)")
      refuses("{", "", "invalid JSON: a field name expected at the end of the text")
      refuses('{"n": 1,}', "", "invalid JSON at byte 9: a field name expected")
      refuses('{"n" 1}', "", "invalid JSON at byte 6: ':' expected")
      refuses('{"n":', "n", "invalid JSON: a value expected at the end of the text")
      refuses('\239\187\191{}', "", "invalid JSON at byte 1: a value expected")
    end)

    it("refuses a top value that is not an object", function()
      refuses("[]", "", "not a JSON object (got array)")
      refuses('"x"', "", "not a JSON object (got string)")
      refuses("1", "", "not a JSON object (got 1)")
      refuses("null", "", "not a JSON object (got null)")
      refuses("true", "", "not a JSON object (got true)")
    end)

    it("bounds the nesting, skipped values included", function()
      local function deep(n) return '{"zz": ' .. ("["):rep(n) .. ("]"):rep(n) .. ', "n": 1}' end
      accepts(deep(31), { n = 1 })
      refuses(deep(32), "", "nested deeper than 32 levels (at byte 39)")
      accepts(deep(4), { n = 1 }, S, 5)
      refuses(deep(5), "", "nested deeper than 5 levels (at byte 12)", S, 5)
      accepts(deep(255), { n = 1 }, S, 256)
      refuses(deep(256), "", "nested deeper than 256 levels (at byte 263)", S, 256)
      refuses('{"o": {"x": 1, "y": []}}', "o.y", "nested deeper than 2 levels (at byte 21)", S, 2)
      accepts('{"o": {"x": 1}}', { o = { x = 1 } }, S, 2)
      refuses('{"o": {}}', "o", "nested deeper than 1 levels (at byte 7)", S, 1)
      refuses('{"n": {"a": [[[[[[[[[[]]]]]]]]]]}}', "n", "nested deeper than 5 levels (at byte 16)", S, 5)
    end)

    it("refuses a very deep text quickly, without growing the C stack", function()
      local text = ("["):rep(1000000)
      refuses('{"zz": ' .. text, "", "nested deeper than 32 levels (at byte 39)")
      refuses('{"zz": ' .. text, "", "nested deeper than 256 levels (at byte 263)", S, 256)
      refuses(("{"):rep(1000000), "", "invalid JSON at byte 2: a field name expected")
    end)

    it("checks its arguments", function()
      assert.has_error(function() core.decode(5, S) end)
      assert.has_error(function() core.decode("{}", {}) end)
      assert.has_error(function() core.decode("{}") end)
      assert.has_error(function() core.decode("{}", io.stdout) end)
      for _, depth in ipairs({ 0, 257, 1.5, -1, "x" }) do
        assert.has_error(function() core.decode("{}", S, depth) end)
      end
      accepts("{}", {}, S, nil)
    end)

    it("serves many decodes with one shape, interleaved with others", function()
      local fetch = core.shape(operations.find("order", "fetch").answer)
      for i = 1, 2000 do
        local a = core.decode(('{"n": %d, "ls": ["%d"]}'):format(i, i), S)
        local b = core.decode(('{"order": {"order_id": %d}}'):format(i), fetch)
        assert(a.n == i and a.ls[1] == tostring(i) and b.order.order_id == i)
      end
      collectgarbage()
    end)
  end)
end)

------------------------------------------------------------------------------
-- The differential part: generated answers, decoded here and judged by
-- Python's json with decimal.Decimal for every number.

-- A generator that gives the same numbers on every Lua (Park-Miller: the
-- products stay below 2^53, exact in doubles).
local seed = 20260101
local function rand(n) -- 1..n
  seed = seed * 16807 % 2147483647
  return seed % n + 1
end
local function pick(list) return list[rand(#list)] end
local function chance(percent) return rand(100) <= percent end

-- digits of an integer, as text: never through a number
local function digits()
  local r = rand(10)
  if r == 1 then return "0" end
  if r == 2 then return pick({ "9007199254740991", "9007199254740992", "9007199254740990", "9007199254740993",
    "10000000000000000", "9999999999999999", "4503599627370496", "18446744073709551616" }) end
  local n = r <= 6 and rand(5) or rand(20)
  local t = { tostring(rand(9)) }
  for i = 2, n do t[i] = tostring(rand(10) - 1) end
  return concat(t)
end

local function zeros(n) return ("0"):rep(n) end

-- one number, in one of many spellings
local function number()
  local d = digits()
  local sign = chance(25) and "-" or ""
  local r = rand(12)
  if r <= 3 then return sign .. d end
  if r == 4 then return sign .. d .. "." .. zeros(rand(4)) end
  if r == 5 then -- a fraction
    return sign .. d .. "." .. pick({ "5", "25", "000000000000001", "1", "0000000000000000000001" })
  end
  if r == 6 then
    local special = pick({ "1e400", "1e-400", "0e-400", "-0", "0", "0.0", "1E16", "9.007199254740991e15",
      "9.007199254740992e15", "6000e-2", "6.0e1", "60.000000000000001", "1e-9999", "1e9999" })
    return special:sub(1, 1) == "-" and special or sign .. special
  end
  if d == "0" then return sign .. "0" .. pick({ "", ".0", "e5", "E-5", ".000e+3" }) end
  -- the digits with z zeros added, f of them after the point, exponent f - z + shift
  local z = rand(4) - 1
  local s = d .. zeros(z)
  local f = rand(#s + 3) - 1
  local mantissa
  if f >= #s then
    mantissa = "0." .. zeros(f - #s) .. s
  elseif f > 0 then
    mantissa = s:sub(1, #s - f) .. "." .. s:sub(#s - f + 1)
  else
    mantissa = s
  end
  local shift = chance(70) and 0 or rand(5) - 3
  local e = f - z + shift
  return sign .. mantissa .. pick({ "e", "E" }) .. (e >= 0 and pick({ "", "+" }) or "") .. e
end

local ESCAPES = { "\\n", "\\\"", "\\\\", "\\/", "\\t", "\\u00e9", "\\u20AC", "\\ud83d\\ude00", "\\u0000", "\\b" }
local RAW = { "a", "Z", " ", "0", "\195\169", "\226\130\172", "\240\159\152\128", "\127", "~" }

-- the bytes of a JSON string's inside; lexical: one defect among
-- { raw control, bad UTF-8, lone surrogate escape }
-- A clean answer (gen_clean) has nothing wrong but one defect in one of
-- its strings: a raw control character, bad UTF-8 or a lone surrogate.
local clean, defect_left = false, 0

local function string_body()
  local t = {}
  for i = 1, rand(8) - 1 do t[i] = chance(25) and pick(ESCAPES) or pick(RAW) end
  if clean and defect_left > 0 and chance(30) then
    defect_left = 0
    t[#t + 1] = pick({ "\1", "\31", "\192\175", "\237\160\128", "\244\144\128\128", "\255", "\\ud800", "\\udc00x" })
  end
  return concat(t)
end

local function ws() return chance(20) and pick({ " ", "  ", "\t", " \r " }) or "" end

local gen_value
local unknown_names = { "extra", "zz", "meta", "x_debug", "n" }

-- a random JSON value of no particular shape (an unknown field's)
local function gen_any(depth)
  local r = rand(depth > 3 and 4 or 7)
  if r == 1 then return number() end
  if r == 2 then return '"' .. string_body() .. '"' end
  if r == 3 then return pick({ "true", "false", "null" }) end
  if r == 4 then return pick({ "{}", "[]", '""', "0" }) end
  if r <= 5 then
    local t = {}
    for i = 1, rand(3) do t[i] = gen_any(depth + 1) end
    return "[" .. concat(t, "," .. ws()) .. "]"
  end
  local t = {}
  for i = 1, rand(3) do t[i] = '"' .. pick(unknown_names) .. '":' .. gen_any(depth + 1) end
  return "{" .. concat(t, ",") .. "}"
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do if k ~= "required" then keys[#keys + 1] = k end end
  sort(keys)
  return keys
end

-- a value for a kind: right most of the time, sometimes of another type
local function gen_object(shape, depth)
  local parts = {}
  for _, name in ipairs(sorted_keys(shape)) do
    local r = clean and 1 or rand(100)
    if r <= 60 then
      parts[#parts + 1] = { name, gen_value(shape[name], depth + 1) }
    elseif r <= 65 then
      parts[#parts + 1] = { name, "null" }
    end
    if chance(3) then parts[#parts + 1] = { name, gen_value(shape[name], depth + 1) } end -- a duplicate
  end
  for _ = 1, (chance(40) and rand(3) or 0) do
    local deep = not clean and chance(2) -- beyond the 32 levels
    parts[#parts + 1] = { pick(unknown_names), deep and ("["):rep(35) .. ("]"):rep(35) or gen_any(depth + 1) }
  end
  -- shuffled
  for i = #parts, 2, -1 do
    local j = rand(i)
    parts[i], parts[j] = parts[j], parts[i]
  end
  local t = {}
  for i, p in ipairs(parts) do
    local key = p[1]
    if chance(5) then key = key:gsub("^(.)", function(c) return ("\\u%04x"):format(c:byte()) end) end
    t[i] = ws() .. '"' .. key .. '"' .. ws() .. ":" .. ws() .. p[2] .. ws()
  end
  return "{" .. concat(t, ",") .. "}"
end

-- an integer within range, spelled exactly (for clean answers)
local function clean_number(kind)
  local d = tostring(rand(1000000) - 1)
  local sign = kind ~= "price" and d ~= "0" and chance(20) and "-" or ""
  return sign .. pick({ d, d .. ".0", d .. "e0", d .. "00e-2", d .. ".000E+0" })
end

function gen_value(kind, depth)
  if not clean and chance(4) then return gen_any(depth) end -- quite likely the wrong type
  if type(kind) == "string" then
    if kind == "string" then return '"' .. string_body() .. '"' end
    if kind == "boolean" then return pick({ "true", "false" }) end
    return clean and clean_number(kind) or number()
  end
  if kind.object then return gen_object(kind.object, depth) end
  local item = type(kind.list) == "string" and kind.list or { object = kind.list }
  local t = {}
  for i = 1, rand(4) - 1 do t[i] = not clean and chance(3) and "null" or gen_value(item, depth + 1) end
  return "[" .. concat(t, "," .. ws()) .. "]"
end

-- a text with one lexical defect in a string and nothing else wrong, or
-- nil when no string took the defect: Python says "invalid" and no more
-- (no path) for the defects it cannot load
local function gen_defective(kind)
  clean, defect_left = true, 1
  local text = gen_value(kind, 0)
  clean = false
  if defect_left > 0 then return nil end
  return text
end

-- the shape as JSON for Python: {"k": kind, "fields": {...}, "required": [...], "item": ...}
local function shape_json(kind)
  if type(kind) == "string" then return '{"k":"' .. kind .. '"}' end
  if kind.list and (kind.object == nil) and next(kind, next(kind)) == nil then
    local item = type(kind.list) == "string" and kind.list or { object = kind.list }
    return '{"k":"list","item":' .. shape_json(item) .. "}"
  end
  local shape = kind.object or kind
  local f, r = {}, {}
  for _, name in ipairs(sorted_keys(shape)) do f[#f + 1] = '"' .. name .. '":' .. shape_json(shape[name]) end
  for _, name in ipairs(shape.required or {}) do r[#r + 1] = '"' .. name .. '"' end
  return '{"k":"object","fields":{' .. concat(f, ",") .. '},"required":[' .. concat(r, ",") .. "]}"
end

local function hex(s)
  return (s:gsub(".", function(c) return format("%02x", c:byte()) end))
end

-- the decoded value in the form the oracle prints it; counts the numbers
local counted = 0
local function canon(v, kind)
  if type(kind) == "string" then
    if kind == "string" then return '"' .. hex(v) .. '"' end
    if kind == "boolean" then return tostring(v) end
    if not is_exact_integer(v) then return "not-an-integer:" .. tostring(v) end
    counted = counted + 1
    return format("%.0f", v)
  end
  if kind.list and (kind.object == nil) and next(kind, next(kind)) == nil then
    local item = type(kind.list) == "string" and kind.list or { object = kind.list }
    local t, n = {}, 0
    for _ in pairs(v) do n = n + 1 end
    if n ~= #v then return "not-a-sequence" end
    for i = 1, #v do t[i] = canon(v[i], item) end
    return "[" .. concat(t, ",") .. "]"
  end
  local shape = kind.object or kind
  local t = {}
  for k, x in pairs(v) do
    if shape[k] == nil or k == "required" then return "unknown-key:" .. k end
    t[#t + 1] = hex(k) .. ":" .. canon(x, shape[k])
  end
  sort(t)
  return "{" .. concat(t, ",") .. "}"
end

local function category(msg)
  local prefix = msg:match("^not integer cents: ") and "cents:" or ""
  local rest = msg:gsub("^not integer cents: ", "")
  local known = {
    { "^invalid JSON", "syntax" }, { "^nested deeper", "depth" }, { "^not an integer", "fraction" },
    { "^out of range", "range" }, { "^negative zero", "negzero" }, { "^not a number", "not_number" },
    { "^a negative price", "negative_price" }, { "^not a string", "not_string" },
    { "^not a boolean", "not_boolean" }, { "^not a JSON object", "not_object" }, { "^not a list", "not_list" },
    { "^required field", "missing" },
  }
  for _, k in ipairs(known) do
    if rest:match(k[1]) then return prefix .. k[2] end
  end
  return "unknown:" .. msg
end

local ORACLE = [==[
import sys, json, decimal

D = decimal.Decimal
MAX = 2 ** 53 - 1
DEPTH = 32

class Pairs(list):
    pass

class Refuse(Exception):
    def __init__(self, path, cat):
        Exception.__init__(self)
        self.path, self.cat = path, cat

def json_kind(v):
    if isinstance(v, Pairs): return "object"
    if isinstance(v, list): return "array"
    if isinstance(v, str): return "string"
    if v is True or v is False: return "boolean"
    if v is None: return "null"
    assert isinstance(v, D)
    return "number"

def surrogate(s):
    return any(0xD800 <= ord(c) <= 0xDFFF for c in s)

def join(path, name):
    return name if path == "" else path + "." + name

# a value the shape does not read, inside `depth` containers: only checked
def skip(v, path, depth):
    k = json_kind(v)
    if k in ("object", "array"):
        if depth + 1 > DEPTH: raise Refuse(path, "depth")
        for item in v:
            if k == "object":
                if surrogate(item[0]): raise Refuse(path, "syntax")
                item = item[1]
            skip(item, path, depth + 1)
    elif k == "string" and surrogate(v):
        raise Refuse(path, "syntax")

def wrong(v, path, depth, cat):
    skip(v, path, depth)
    raise Refuse(path, cat)

def value(v, node, path, depth):
    k, jk = node["k"], json_kind(v)
    if k in ("integer", "money", "price"):
        pre = "" if k == "integer" else "cents:"
        if jk != "number": wrong(v, path, depth, pre + "not_number")
        if v.is_zero():
            if v.is_signed(): raise Refuse(path, pre + "negzero")
            return ("int", 0)
        if v != v.to_integral_value(): raise Refuse(path, pre + "fraction")
        if abs(v) > MAX: raise Refuse(path, pre + "range")
        i = int(v)
        if k == "price" and i < 0: raise Refuse(path, "negative_price")
        return ("int", i)
    if k == "string":
        if jk != "string": wrong(v, path, depth, "not_string")
        if surrogate(v): raise Refuse(path, "syntax")
        return ("str", v)
    if k == "boolean":
        if jk != "boolean": wrong(v, path, depth, "not_boolean")
        return ("bool", v)
    if k == "object":
        # an empty array for a nested object is an empty object (and back)
        lenient = jk == "array" and len(v) == 0 and depth > 0
        if jk != "object" and not lenient: wrong(v, path, depth, "not_object")
        if depth + 1 > DEPTH: raise Refuse(path, "depth")
        if lenient: v = []
        out = {}
        for key, x in v:
            if surrogate(key): raise Refuse(path, "syntax")
            f = node["fields"].get(key)
            if f is None:
                skip(x, path, depth + 1)
            elif x is None:
                out.pop(key, None)
            else:
                out[key] = value(x, f, join(path, key), depth + 1)
        missing = [r for r in node["required"] if r not in out]
        if missing: raise Refuse(join(path, missing[0]), "missing")
        return ("obj", out)
    assert k == "list"
    lenient = jk == "object" and len(v) == 0 and depth > 0
    if jk != "array" and not lenient: wrong(v, path, depth, "not_list")
    if depth + 1 > DEPTH: raise Refuse(path, "depth")
    if lenient: v = []
    return ("list", [value(x, node["item"], "%s[%d]" % (path, i + 1), depth + 1) for i, x in enumerate(v)])

def canon(t):
    tag, x = t
    if tag == "int": return str(x)
    if tag == "str": return '"' + x.encode("utf-8").hex() + '"'
    if tag == "bool": return "true" if x else "false"
    if tag == "list": return "[" + ",".join(canon(i) for i in x) + "]"
    return "{" + ",".join(sorted(k.encode("utf-8").hex() + ":" + canon(v) for k, v in x.items())) + "}"

shapes = json.loads(open(sys.argv[1]).read())
n = 0
for line in open(sys.argv[2]):
    which, text = line.split()
    data = bytes.fromhex(text)
    try:
        try:
            s = data.decode("utf-8")
            doc = json.loads(s, parse_float=D, parse_int=D, object_pairs_hook=Pairs)
        except ValueError:
            print("E ? syntax")
        else:
            print("V " + canon(value(doc, shapes[int(which)], "", 0)))
    except Refuse as r:
        print("E " + (r.path or "-") + " " + r.cat)
    n += 1
print("END %d" % n)
]==]

local function python3()
  local p = io.popen("command -v python3 2>/dev/null")
  local out = p and p:read("*a") or ""
  if p then p:close() end
  return out:match("%S") ~= nil
end

describe("core.decode as the engine calls it (the lists' mark, money values)", function()
  local json = require "proxyshard.wire.json"
  local money = require "proxyshard.money"
  local shape = core.shape { n = "integer", m = "money", p = "price", lines = { list = { qty = "integer" } },
    none = { list = "string" }, empty = { list = "integer" }, required = { "n" } }

  it("marks every list as a JSON array and makes amounts money values; integers stay integers", function()
    local v = assert(core.decode('{"n":3,"m":-150,"p":6.0e1,"lines":[{"qty":2}],"none":[],"empty":{}}', shape, nil,
      json.array_mt, true))
    assert.are.equal(3, v.n)
    assert.is_true(money.is(v.m) and money.is(v.p))
    assert.are.same({ -150, 60 }, { v.m.cents, v.p.cents })
    assert.is_false(money.is(v.n))
    for _, list in ipairs { v.lines, v.none, v.empty } do assert.is_true(json.is_marked(list)) end
    assert.are.equal('{"empty":[],"lines":[{"qty":2}],"m":-150,"n":3,"none":[],"p":60}', json.encode {
      n = v.n, m = v.m.cents, p = v.p.cents, lines = v.lines, none = v.none, empty = v.empty })
  end)

  it("refuses an amount whose text is not an exact integer, whatever the mode", function()
    for _, text in ipairs { "60.000000000000001", "60.5", "1e400", "9007199254740992" } do
      local v, path = core.decode('{"n":1,"p":' .. text .. "}", shape, nil, json.array_mt, true)
      assert.is_nil(v, text)
      assert.are.equal("p", path)
    end
  end)
end)

describe("core.decode against Python's json and decimal.Decimal", function()
  -- every row's answer (the 32 operations that answer JSON), and the order
  local answers = { { "shapes.order", shapes.order } }
  for _, row in ipairs(operations.rows) do
    if type(row.answer) == "table" then answers[#answers + 1] = { row.handle .. "." .. row.name, row.answer } end
  end
  local COUNT = 200 * #answers

  it("agrees on " .. COUNT .. " generated answers: every value, every amount, every refusal", function()
    if not python3() then
      pending("python3 not found: the differential part is skipped")
      return
    end
    local compiled, texts, kinds = {}, {}, {}
    for i, a in ipairs(answers) do compiled[i] = core.shape(a[2]) end
    for i = 1, COUNT do
      local which = (i - 1) % #answers + 1
      local shape = answers[which][2]
      local kind = shape.list and shape or { object = shape }
      local text = chance(8) and gen_defective(kind) or nil
      if text == nil then text = gen_value(kind, 0) end
      texts[i], kinds[i] = text, which
    end

    local dir = os.tmpname()
    local files = { script = dir .. ".py", shapes = dir .. ".shapes", texts = dir .. ".texts", err = dir .. ".err" }
    local function write(path, body)
      local f = assert(io.open(path, "wb"))
      f:write(body)
      f:close()
    end
    local list = {}
    for i, a in ipairs(answers) do list[i] = shape_json(a[2]) end
    write(files.script, ORACLE)
    write(files.shapes, "[" .. concat(list, ",") .. "]")
    local lines = {}
    for i = 1, COUNT do lines[i] = (kinds[i] - 1) .. " " .. hex(texts[i]) end
    write(files.texts, concat(lines, "\n") .. "\n")
    -- stderr apart: under scripts/test.sh's ASan phase the shells that
    -- start python3 may write LeakSanitizer reports there
    local p = assert(io.popen(("python3 %s %s %s 2>%s"):format(files.script, files.shapes, files.texts, files.err)))
    local out = p:read("*a")
    p:close()
    local f = io.open(files.err, "rb")
    local err = f and f:read("*a") or ""
    if f then f:close() end
    for _, path in pairs(files) do os.remove(path) end
    os.remove(dir)

    local verdicts = {}
    for line in out:gmatch("[^\n]+") do verdicts[#verdicts + 1] = line end
    assert.are.equal("END " .. COUNT, verdicts[COUNT + 1], (out .. err):sub(-3000))

    local seen, wrong, accepted, amounts = {}, {}, 0, 0
    for i = 1, COUNT do
      local kind = answers[kinds[i]][2]
      local v, path, msg = core.decode(texts[i], compiled[kinds[i]])
      local mine
      counted = 0
      if v ~= nil then
        mine = "V " .. canon(v, kind)
      else
        mine = "E " .. (path == "" and "-" or path) .. " " .. category(msg)
      end
      local want = verdicts[i]
      local ok = mine == want
      if not ok and want:match("^E %? syntax$") then
        ok = v == nil and msg:match("^invalid JSON") ~= nil -- Python cannot say where
      end
      if ok then
        if v ~= nil then
          accepted = accepted + 1
          amounts = amounts + counted
        end
        local cat = v == nil and want:match("(%S+)$") or "value"
        seen[cat] = (seen[cat] or 0) + 1
      elseif #wrong < 5 then
        wrong[#wrong + 1] = ("%s\n  text:   %s\n  core:   %s (%s)\n  python: %s"):format(answers[kinds[i]][1],
          show(texts[i]), mine, tostring(msg), want)
      else
        wrong[#wrong + 1] = "..."
      end
    end
    local cats = {}
    for k, n in pairs(seen) do cats[#cats + 1] = k .. " " .. n end
    sort(cats)
    print(("# differential: %d answers, %d accepted (%d numbers compared), refusals: %s"):format(COUNT, accepted,
      amounts, concat(cats, ", ")))
    assert(#wrong == 0, #wrong .. " disagreements:\n" .. concat(wrong, "\n"))
    -- the generator reached every rule
    for _, cat in ipairs({ "value", "syntax", "depth", "fraction", "range", "negzero", "not_number",
      "cents:fraction", "cents:range", "negative_price", "not_string", "not_boolean", "not_object", "not_list",
      "missing" }) do
      assert(seen[cat], "no case of " .. cat)
    end
  end)
end)
