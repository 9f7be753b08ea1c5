local json = require "proxyshard.wire.json"
local is_exact_integer = require "support.exact"
local convert = require "proxyshard.engine.convert"

describe("json", function()
  it("turns null into nil, deeply", function()
    local v = json.decode('{"a":null,"b":{"c":null,"d":1},"e":[{"f":null}]}')
    assert.is_nil(v.a)
    assert.is_nil(v.b.c)
    assert.are.equal(1, v.b.d)
    assert.is_nil(v.e[1].f)
    assert.is_nil(next(v.e[1]))
  end)

  it("reports bad JSON as nil, message", function()
    for _, text in ipairs({ "", "<html>", "{", '{"a":NaN}', "[1,]", ("["):rep(40) .. ("]"):rep(40) }) do
      local v, err = json.decode(text)
      assert.is_nil(v)
      assert.is_string(err)
    end
  end)

  it("encodes integers exactly, even beyond 10^14", function()
    assert.are.equal('{"a":9007199254740991,"b":-5,"c":150}',
      json.encode({ a = 9007199254740991, b = -5, c = 150.0 }))
  end)

  it("encodes sorted objects, arrays, strings and booleans", function()
    assert.are.equal('{"items":[{"ip":"1.2.3.4","signature":"win11"}],"ok":true,"s":"a\\"b"}',
      json.encode({ ok = true, s = 'a"b', items = json.array { { signature = "win11", ip = "1.2.3.4" } } }))
    assert.are.equal("[]", json.encode(json.array()))
    assert.are.equal("{}", json.encode({}))
  end)

  it("writes integral floats as integers, json.null as null, and escapes control characters", function()
    assert.are.equal('{"a":150,"c":[],"d":null,"e":"a/b\\"\\n\\u0001"}',
      json.encode { a = 150.0, c = json.array(), d = json.null, e = 'a/b"\n\1' })
    assert.are.equal("[1,2,3]", json.encode { 1, 2, 3 })
  end)

  it("refuses to encode fractions or functions", function()
    assert.has_error(function() json.encode({ a = 1.5 }) end)
    assert.has_error(function() json.encode({ a = print }) end)
  end)
end)

describe("convert", function()
  local shape = { n = "integer", i = "integer", m = "money", p = "price", s = "string", b = "boolean",
    lines = { list = { qty = "integer" } }, required = { "n" } }

  it("makes exact integers and money from float-decoded numbers", function()
    local out = assert(convert.object(json.decode(
      '{"n":3,"i":-2,"m":150,"s":"x","b":false,"lines":[{"qty":2}],"other":1}'), shape))
    assert.is_true(is_exact_integer(out.n))
    assert.are.equal(3, out.n)
    assert.are.equal(-2, out.i)
    assert.are.equal(150, out.m.cents)
    assert.is_true(is_exact_integer(out.m.cents))
    assert.are.equal("x", out.s)
    assert.is_false(out.b)
    assert.are.equal(2, out.lines[1].qty)
    assert.is_nil(out.other)
  end)

  local bad = {
    { '{"n":1.5}', "field n: not an integer" },
    { '{"n":1,"p":-1}', "field p: a negative price" },
    { '{"n":1,"m":1.5}', "field m: not integer cents" },
    { '{"n":1,"m":"150"}', "field m: not integer cents" },
    { '{"n":1,"m":1e400}', "field m: not integer cents" },
    { '{"n":1,"m":-0}', "field m: not integer cents: negative zero" },
    { '{"n":1,"m":9007199254740993}', "field m: not integer cents: out of range" },
    { '{"n":1,"s":5}', "field s: not a string" },
    { '{"n":1,"b":"true"}', "field b: not a boolean" },
    { '{"n":1,"lines":[{"qty":"2"}]}', "field lines%[1%]%.qty: not a number" },
    { '{"n":1,"lines":{"qty":2}}', "field lines: not a list" },
    { '{"i":1}', "field n is missing" },
    { '[1,2]', "not a JSON object" },
  }
  it("takes integers the API document does not bound, of either sign (over-used traffic: data_remain < 0)",
    function()
      local out = assert(convert.object(json.decode('{"n":-1,"lines":[{"qty":-3}]}'), shape))
      assert.are.same({ -1, -3 }, { out.n, out.lines[1].qty })
    end)

  it("names a type no shape may use (a programmer's mistake) when the shape is first used", function()
    assert.has_error(function() convert.object({ n = 1 }, { n = "count" }) end,
      "proxyshard.engine.convert: no type count (a shape's mistake)")
  end)

  for _, case in ipairs(bad) do
    it("refuses " .. case[1], function()
      local out, err = convert.object(json.decode(case[1]), shape)
      assert.is_nil(out)
      assert.matches(case[2], err)
    end)
  end
end)
