-- proxyshard.desired.file: the desired-state file, read strictly (no
-- sandbox needed). Lua and JSON give the same normalised state; an unknown
-- key is refused with the closest name, a bad value with its path; a Lua
-- file can only describe (no globals, no string methods, bounded work).
local file = require "proxyshard.desired.file"
local shell = require "support.shell"

local q = shell.q

local GOOD_LUA = [[
-- a comment, and every kind of entry
return {
  orders = {
    { order = 12345, min_free_p0f = 2, tag = "scrapers", auto_renewal = true,
      signatures = { ["203.0.113.11"] = "win11", ["2001:0DB8::11"] = "linux" },
      del_np = { ["203.0.113.14"] = true, ["203.0.113.13"] = false } },
    { tagged = "fleet", signature = "linux", renew_within_days = 3 },
  },
  residential = {
    premium = { sub_users = { { name = "team-a", min_remaining_gb = 10 }, { name = "team-b" } } },
    standart = { sub_users = { { name = "crawler", min_remaining_gb = 0 } } },
  },
}
]]

local GOOD_JSON = [[
{
  "orders": [
    { "order": 12345, "min_free_p0f": 2, "tag": "scrapers", "auto_renewal": true,
      "signatures": { "203.0.113.11": "win11", "2001:0DB8::11": "linux" },
      "del_np": { "203.0.113.14": true, "203.0.113.13": false } },
    { "tagged": "fleet", "signature": "linux", "renew_within_days": 3 }
  ],
  "residential": {
    "premium": { "sub_users": [ { "name": "team-a", "min_remaining_gb": 10 }, { "name": "team-b" } ] },
    "standart": { "sub_users": [ { "name": "crawler", "min_remaining_gb": 0 } ] }
  }
}
]]

local NORMALISED = {
  orders = {
    { entry = 1, order = 12345, min_free_p0f = 2, tag = "scrapers", auto_renewal = true,
      signatures = { ["203.0.113.11"] = "win11", ["2001:db8::11"] = "linux" },
      del_np = { ["203.0.113.14"] = true, ["203.0.113.13"] = false } },
    { entry = 2, tagged = "fleet", signature = "linux", renew_within_days = 3 },
  },
  residential = {
    { proxy_type = "premium", sub_users = { { name = "team-a", min_remaining_gb = 10 }, { name = "team-b" } } },
    { proxy_type = "standart", sub_users = { { name = "crawler", min_remaining_gb = 0 } } },
  },
}

-- A desired state with one order entry `entry` (and nothing else).
local function with_order(entry)
  return { orders = { entry } }
end

-- The error of a refused value: asserts nil, invalid_argument; returns the message.
local function refused(value, err)
  assert.is_nil(value)
  assert.is_table(err, "no error returned")
  assert.are.equal("invalid_argument", err.kind)
  return err.message
end

describe("proxyshard.desired.file", function()
  local dir

  before_each(function()
    dir = shell.tmpdir("proxyshard-desired-file")
  end)

  after_each(function()
    shell.sh("rm -rf " .. q(dir))
  end)

  describe("a good file", function()
    it("gives the same normalised state from Lua and from JSON", function()
      local from_lua = assert(file.parse(GOOD_LUA, "desired.lua"))
      local from_json = assert(file.parse(GOOD_JSON, "desired.json"))
      assert.are.same(NORMALISED, from_lua)
      assert.are.same(NORMALISED, from_json)
      -- integers stay integers (a JSON decoder may read 2 as 2.0)
      assert.are.equal(math.type and "integer" or "number",
        math.type and math.type(from_json.orders[1].min_free_p0f) or type(from_json.orders[1].min_free_p0f))
    end)

    it("is loaded from a path: .lua, .json, and JSON text without the extension", function()
      shell.write_file(dir .. "/d.lua", GOOD_LUA)
      shell.write_file(dir .. "/d.json", GOOD_JSON)
      shell.write_file(dir .. "/d.conf", GOOD_JSON)
      assert.are.same(NORMALISED, assert(file.load(dir .. "/d.lua")))
      assert.are.same(NORMALISED, assert(file.load(dir .. "/d.json")))
      assert.are.same(NORMALISED, assert(file.load(dir .. "/d.conf")))
    end)

    it("is checked as a table too, the same as a file's", function()
      local t = {
        orders = {
          { order = 12345, min_free_p0f = 2, tag = "scrapers", auto_renewal = true,
            signatures = { ["203.0.113.11"] = "win11", ["2001:0DB8::11"] = "linux" },
            del_np = { ["203.0.113.14"] = true, ["203.0.113.13"] = false } },
          { tagged = "fleet", signature = "linux", renew_within_days = 3 },
        },
        residential = {
          premium = { sub_users = { { name = "team-a", min_remaining_gb = 10 }, { name = "team-b" } } },
          standart = { sub_users = { { name = "crawler", min_remaining_gb = 0 } } },
        },
      }
      assert.are.same(NORMALISED, assert(file.check(t)))
      assert.are.same({ orders = {}, residential = {} }, assert(file.check({})))
      assert.are.same({ orders = {}, residential = {} }, assert(file.parse("return {}", "empty.lua")))
    end)

    it("loads the example file cleanly", function()
      local path = "examples/desired-state.lua"
      if not shell.read_file(path) then
        pending("no " .. path)
        return
      end
      local d = assert(file.load(path))
      assert.is_true(#d.orders > 0)
      for i, e in ipairs(d.orders) do assert.are.equal(i, e.entry) end
    end)
  end)

  describe("an unknown key", function()
    it("is refused at the top level with the closest name", function()
      local m = refused(file.check { order = {} })
      assert.matches('desired has an unknown key "order"', m, 1, true)
      assert.matches('did you mean "orders"?', m, 1, true)
      m = refused(file.parse('return { residental = {} }', "d.lua"))
      assert.matches('did you mean "residential"?', m, 1, true)
      m = refused(file.parse('{ "ordres": [] }', "d.json"))
      assert.matches('did you mean "orders"?', m, 1, true)
    end)

    it("is refused in an order entry with the closest name", function()
      local m = refused(file.check(with_order { order = 12345, min_free_pof = 2 }))
      assert.matches('orders[1] has an unknown key "min_free_pof"', m, 1, true)
      assert.matches('did you mean "min_free_p0f"?', m, 1, true)
      m = refused(file.check { orders = { { order = 1 }, { order = 2, auto_renew = true } } })
      assert.matches('orders[2] has an unknown key "auto_renew"', m, 1, true)
      assert.matches('did you mean "auto_renewal"?', m, 1, true)
    end)

    it("is refused in a sub-user with the closest name", function()
      local m = refused(file.check { residential = { premium = { sub_users = { { nme = "team-a" } } } } })
      assert.matches('residential.premium.sub_users[1] has an unknown key "nme"', m, 1, true)
      assert.matches('did you mean "name"?', m, 1, true)
      m = refused(file.check { residential = { premium = { sub_users = {
        { name = "team-a", min_remaining = 5 } } } } })
      assert.matches('did you mean "min_remaining_gb"?', m, 1, true)
      m = refused(file.check { residential = { premium = { sub_user = {} } } })
      assert.matches('residential.premium has an unknown key "sub_user"', m, 1, true)
      assert.matches('did you mean "sub_users"?', m, 1, true)
    end)

    it("far from every name lists the known ones", function()
      local m = refused(file.check(with_order { order = 1, zzzzzzzzzzzz = 1 }))
      assert.matches("known: auto_renewal, del_np, min_free_p0f", m, 1, true)
    end)
  end)

  describe("a bad value", function()
    local function refuses(t, where, words)
      local m = refused(file.check(t))
      assert.matches(where, m, 1, true)
      if words then assert.matches(words, m, 1, true) end
      return m
    end

    it("is refused naming its path", function()
      refuses(with_order { order = 12345, min_free_p0f = -1 }, "orders[1].min_free_p0f")
      refuses(with_order { order = 12345, min_free_p0f = 1.5 }, "orders[1].min_free_p0f")
      refuses(with_order { order = 12345, min_free_p0f = "2" }, "orders[1].min_free_p0f")
      refuses({ orders = { { order = 1 }, { order = 2, renew_within_days = -3 } } }, "orders[2].renew_within_days")
      refuses(with_order { order = 0 }, "orders[1].order")
      refuses(with_order { order = 12345.5 }, "orders[1].order")
      refuses(with_order { order = 12345, auto_renewal = "yes" }, "orders[1].auto_renewal")
      refuses(with_order { order = 12345, tag = 5 }, "orders[1].tag")
      refuses(with_order { tagged = "" }, "orders[1].tagged")
      refuses(with_order { order = 12345, del_np = { ["203.0.113.14"] = "yes" } }, 'orders[1].del_np["203.0.113.14"]')
      refuses(with_order "12345", "orders[1]", "must be a table")
      refuses({ orders = { order = 12345 } }, "orders", "must be a list")
      refuses({ residential = { premium = { sub_users = { { name = "a", min_remaining_gb = -1 } } } } },
        "residential.premium.sub_users[1].min_remaining_gb")
      refuses({ residential = { premium = { sub_users = { {} } } } }, "residential.premium.sub_users[1].name")
    end)

    it("refuses both `order` and `tagged`, and neither", function()
      refuses(with_order { order = 12345, tagged = "fleet" }, "orders[1]", "exactly one of `order`")
      refuses(with_order { min_free_p0f = 2 }, "orders[1]", "exactly one of `order`")
    end)

    it("refuses what needs `order` in an entry with `tagged`", function()
      refuses(with_order { tagged = "fleet", signatures = { ["203.0.113.11"] = "win11" } }, "orders[1].signatures",
        "needs `order`")
      refuses(with_order { tagged = "fleet", tag = "x" }, "orders[1].tag", "needs `order`")
      refuses(with_order { tagged = "fleet", del_np = { ["203.0.113.11"] = true } }, "orders[1].del_np",
        "needs `order`")
    end)

    it("refuses both `signature` and `signatures`", function()
      refuses(with_order { order = 1, signature = "linux", signatures = { ["203.0.113.11"] = "win11" } },
        "orders[1]", "both `signature` and `signatures`")
    end)

    it("refuses a key that is not an IP, and one IP in two spellings", function()
      refuses(with_order { order = 12345, signatures = { ["not-an-ip"] = "win11" } }, "orders[1].signatures",
        "not-an-ip, which is not an IP address")
      refuses(with_order { order = 12345, del_np = { ["203.0.113.256"] = true } }, "orders[1].del_np",
        "not an IP address")
      refuses(with_order { order = 12345, signatures = { ["2001:db8::11"] = "win11", ["2001:0db8::11"] = "win11" } },
        "orders[1].signatures", "names the IP 2001:db8::11 twice")
      refuses(with_order { order = 12345, signatures = { "win11" } }, "orders[1].signatures", "map of IP")
      refuses(with_order { order = 12345, signatures = {} }, "orders[1].signatures", "is empty")
    end)

    it("refuses a bad signature", function()
      refuses(with_order { order = 12345, signatures = { ["203.0.113.11"] = "beos" } },
        'orders[1].signatures["203.0.113.11"]', "must be one of")
      refuses(with_order { order = 12345, signature = "Win11" }, "orders[1].signature", "must be one of")
    end)

    it("refuses an unknown proxy type", function()
      refuses({ residential = { platinum = { sub_users = {} } } }, "residential", '"platinum"')
      refuses({ residential = { { sub_users = {} } } }, "residential", "map of proxy type")
    end)

    it("refuses a sub-user named twice", function()
      refuses({ residential = { premium = { sub_users = { { name = "team-a" }, { name = "team-b" },
        { name = "team-a", min_remaining_gb = 2 } } } } }, "residential.premium.sub_users[3].name",
        '"team-a" is listed twice')
    end)

    it("refuses a desired state that is not a table, or JSON that is not JSON", function()
      refused(file.check("orders"))
      refused(file.check(nil))
      assert.matches("is not valid JSON", refused(file.parse('{ "orders": [ }', "d.json")), 1, true)
      assert.matches("cannot be read", refused(file.load(dir .. "/missing.lua")), 1, true)
      refused(file.load(""))
    end)
  end)

  describe("a Lua file is data only", function()
    local function loading_refused(text)
      local m = refused(file.parse(text, "d.lua"))
      assert.matches("d.lua", m, 1, true)
      return m
    end

    it("refuses a file that touches a global", function()
      local m = loading_refused("os.exit(3) return {}")
      assert.matches("cannot be loaded as a data-only Lua file", m, 1, true)
      assert.matches("os", m, 1, true)
      assert.matches("print", loading_refused('print("hi") return {}'), 1, true)
      loading_refused("return { orders = { { order = tonumber('12345') } } }")
      loading_refused("require 'os' return {}")
      -- the global table is empty, not the caller's: a global read is nil
      assert.are.same({ orders = {}, residential = {} }, assert(file.parse("return { orders = os }", "d.lua")))
    end)

    it("refuses string methods", function()
      local m = loading_refused('return { orders = { { order = 1, tag = ("x"):rep(10) } } }')
      assert.matches("cannot be loaded as a data-only Lua file", m, 1, true)
      loading_refused('local s = "abc" return { orders = { { order = 1, tag = s:upper() } } }')
      loading_refused('return { orders = { { order = 1, tag = ("x").rep } } }')
      -- the methods are back afterwards, for everyone else
      assert.are.equal("xxx", ("x"):rep(3))
    end)

    it("refuses a file that loops forever (bounded by instructions, not by a clock)", function()
      local m = loading_refused("while true do end")
      assert.matches("takes too long to run", m, 1, true)
      m = loading_refused("local function f() return f() end return f()")
      assert.matches("takes too long to run", m, 1, true)
      m = loading_refused("local t = {} for i = 1, 1e12 do t[1] = i end return {}")
      assert.matches("takes too long to run", m, 1, true)
      assert.are.equal("xx", ("x"):rep(2)) -- string methods restored after an error too
    end)

    it("refuses a file that returns a function, or a table holding one", function()
      assert.matches("must return a table", loading_refused("return function() end"), 1, true)
      assert.matches("holds a function", loading_refused("return { orders = { { order = 1, tag = function() end } } }"),
        1, true)
      assert.matches("returns nothing", loading_refused("local x = 1"), 1, true)
      refused(file.parse("return 42", "d.lua"))
      loading_refused("local t = {} t.orders = t return t") -- a cycle is not data
    end)

    it("refuses a file that takes memory without end (a string doubled)", function()
      local m = loading_refused('local s = "x" for i = 1, 40 do s = s .. s end return {}')
      assert.matches("takes too much memory", m, 1, true)
      -- and a doubling that stays small is still data
      assert.is_table(file.parse('local s = "x" for i = 1, 4 do s = s .. s end return { orders = { { order = 1, '
        .. 'tag = s } } }', "d.lua"))
    end)

    it("refuses a JSON null, naming it", function()
      local _, err = file.parse('{"orders":[{"order":12345,"tag":null}]}', "d.json")
      assert.matches("holds a null: leave the key out instead", tostring(err), 1, true)
    end)

    it("refuses bytecode", function()
      local bytecode = string.dump(function() return { orders = {} } end)
      loading_refused(bytecode)
      local path = dir .. "/d.lua"
      shell.write_file(path, bytecode)
      refused(file.load(path))
    end)

    it("refuses a syntax error naming the file", function()
      local m = loading_refused("return { orders = ")
      assert.matches("cannot be loaded as a data-only Lua file", m, 1, true)
    end)

    it("refuses a file larger than MAX_BYTES", function()
      local text = "return {} --" .. ("x"):rep(file.MAX_BYTES)
      assert.matches("bytes, more than a desired state takes", loading_refused(text), 1, true)
    end)
  end)
end)
