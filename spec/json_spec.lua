local json = require "proxyshard.wire.json"

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
