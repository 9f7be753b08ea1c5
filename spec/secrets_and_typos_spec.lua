-- The token never leaks, in any spelling, and a typo never sends a request
-- somewhere else (issue 8, points 5 and 6). Over the fake transport.
local proxyshard = require "proxyshard"
local redact = require "proxyshard.wire.redact"
local fake_transport = require "support.fake_transport"

-- a token with the characters JSON and URLs like to escape
local TOKEN = "tok_live/S3cr3t+v4lue/0042"
local JSON_ESCAPED = TOKEN:gsub("/", "\\/")
local PERCENT = TOKEN:gsub("/", "%%2F"):gsub("%+", "%%2B")

local function client_with(answers, opts)
  local fake = fake_transport.new(answers)
  opts = opts or {}
  opts.token = opts.token or TOKEN
  opts.transport = opts.transport or fake
  opts.sleep = function() end
  return proxyshard.new(opts), fake
end

local function no_token_in(text, where)
  assert.is_nil(text:find(TOKEN, 1, true), "token in " .. where .. ": " .. text)
  assert.is_nil(text:find(TOKEN:sub(1, 12), 1, true), "half a token in " .. where .. ": " .. text)
end

describe("redact", function()
  local r = redact.new(TOKEN)

  it("finds the token as written, JSON-escaped, percent-encoded and in a mix", function()
    for _, spelling in ipairs({ TOKEN, JSON_ESCAPED, PERCENT, (TOKEN:gsub("t", "\\u0074")),
        (TOKEN:gsub("S", "%%53"):gsub("/", "\\/")), (TOKEN:gsub("4", "\\u0034")) }) do
      assert.are.equal("a [redacted] b [redacted]", r("a " .. spelling .. " b " .. spelling))
    end
  end)

  it("leaves other text alone, and text that is only almost the token", function()
    local near = TOKEN:sub(1, -2) .. "X"
    assert.are.equal(near, r(near))
    assert.are.equal("50% off \\n %zz \\u12", r("50% off \\n %zz \\u12"))
    assert.are.equal("", r(""))
  end)

  it("does not search for a token too short to be real", function()
    assert.are.equal("a t b", redact.new("t")("a t b"))
  end)
end)

describe("the token", function()
  it("is redacted before an error body is cut short", function()
    -- the token straddles the 200-byte cut
    local body = '{"success":false,"detail":"' .. ("x"):rep(160) .. TOKEN .. ("y"):rep(100) .. '"}'
    local client = client_with { { status = 400, body = body } }
    local _, err = client:order(1):fetch { max_retries = 0 }
    assert.are.equal("validation", err.kind)
    no_token_in(err.body, "err.body")
    assert.matches("%[redacted%]", err.body)
  end)

  it("is redacted JSON-escaped in err.body, err.message and the on_response body", function()
    local events = {}
    local body = '{"success":false,"message":"bad token ' .. JSON_ESCAPED .. '"}'
    local client = client_with({ { status = 401, headers = { ["content-type"] = "application/json" }, body = body } },
      { on_response = function(e) events[#events + 1] = e end })
    local _, err = client:order(1):fetch()
    assert.are.equal("auth", err.kind)
    assert.are.equal("bad token [redacted]", err.message)
    no_token_in(err.body, "err.body")
    assert.is_nil(err.body:find(JSON_ESCAPED, 1, true))
    assert.is_nil(events[1].body:find(JSON_ESCAPED, 1, true))
    no_token_in(tostring(err), "tostring(err)")
  end)

  it("is redacted in the response headers a hook sees", function()
    local events = {}
    local client = client_with({ { status = 401, headers = {
      ["www-authenticate"] = 'Bearer error="invalid_token", token="' .. TOKEN .. '"',
      ["location"] = "https://x/?t=" .. PERCENT } } },
      { on_response = function(e) events[#events + 1] = e end })
    client:order(1):fetch()
    no_token_in(events[1].headers["www-authenticate"], "www-authenticate")
    no_token_in(events[1].headers["location"], "location")
    assert.matches("%[redacted%]", events[1].headers["www-authenticate"])
  end)

  it("is in no field of the client, nor behind a function field", function()
    -- the default transport: nothing of the test double's recording
    local client = proxyshard.new { token = TOKEN, base_url = "http://127.0.0.1:9" }
    local seen = {}
    local function search(v, where, depth)
      if depth > 6 then return end
      if type(v) == "string" then
        no_token_in(v, where)
      elseif type(v) == "table" and not seen[v] and v ~= _G and v ~= package.loaded then
        seen[v] = true
        for k, x in pairs(v) do
          search(tostring(k), where .. "." .. tostring(k), depth + 1)
          search(x, where .. "." .. tostring(k), depth + 1)
        end
      elseif type(v) == "function" and not seen[v] then
        seen[v] = true
        local i = 1
        while debug.getupvalue(v, i) do
          local name, up = debug.getupvalue(v, i)
          search(up, where .. "<" .. name .. ">", depth + 1)
          i = i + 1
        end
      end
    end
    search(client, "client", 0)
    assert.is_nil(rawget(client, "authorization"))
    no_token_in(tostring(client), "tostring(client)")
    client:close()
  end)

  describe("echoed by the server in an answer", function()
    local base = require "proxyshard.model.base"

    it("is not in a result's text, in any spelling, though its field keeps what was sent", function()
      -- on the wire JSON-escaped; in the second field the value itself holds an escape
      local client = client_with { { status = 200, body = '{"email":"me+' .. JSON_ESCAPED .. '@x.test",'
        .. '"active_orders":1,"wallet_balance":100}' } }
      local me = assert(client:me())
      assert.are.equal("me+" .. TOKEN .. "@x.test", me.email)
      no_token_in(tostring(me), "tostring(me)")
      assert.matches("^me%+%[redacted%]@x%.test: 1 active orders", tostring(me))
    end)

    it("is not in the text of a list, of its items, or of a page, even once escaped in the value", function()
      local literal = TOKEN:gsub("/", "\\\\/") -- the value holds "\/": escaped on the wire once more
      local client = client_with { { status = 200, body = '{"success":true,"count":2,"orders":['
        .. '{"order_id":1,"product_name":"DC","cycle_name":"monthly","tag":"' .. literal .. '"},'
        .. '{"order_id":2,"product_name":"DC","cycle_name":"monthly","tag":"' .. PERCENT .. '"}]}' } }
      local page = assert(client:orders { status = "active" })
      assert.are.equal(TOKEN:gsub("/", "\\/"), page.orders[1].tag)
      for where, v in pairs { page = page, list = page.orders, item1 = page.orders[1], item2 = page.orders[2] } do
        local text = tostring(v)
        no_token_in(text, where)
        assert.is_nil(text:find(literal, 1, true), where)
        assert.is_nil(text:find(PERCENT, 1, true), where)
        assert.matches("%[redacted%]", text, 1, where)
      end
    end)

    it("marks the results from then on; before it, nothing is marked (no cost on the usual path)", function()
      local client = client_with {
        { status = 200, body = '{"email":"a@b.c","active_orders":1,"wallet_balance":1}' },
        { status = 200, body = '{"email":"' .. TOKEN .. '","active_orders":1,"wallet_balance":1}' },
        { status = 200, body = '{"success":true,"order":{"order_id":7,"product_name":"' .. TOKEN .. '"}}' },
      }
      local first = assert(client:me())
      assert.is_nil(base.redactor_of(first))
      assert.is_function(base.redactor_of(assert(client:me())))
      local order = assert(client:order(7):fetch())
      assert.is_function(base.redactor_of(order))
      no_token_in(tostring(order), "tostring(order)")
    end)
  end)

  it("shorter than 8 bytes is refused by new(), and not echoed in the refusal", function()
    for _, short in ipairs { "x", "a1b2c3d" } do
      local ok, err = pcall(proxyshard.new, { token = short, base_url = "http://127.0.0.1:9" })
      assert.is_false(ok)
      assert.are.equal("invalid_argument", err.kind)
      assert.are.equal("token", err.argument)
      assert.matches("too short %(" .. #short .. " bytes; a ProxyShard token has at least 8%)", err.message)
      if #short > 1 then assert.is_nil(tostring(err):find(short, 1, true)) end
    end
    assert.is_table(proxyshard.new { token = "a1b2c3d4", base_url = "http://127.0.0.1:9" })
  end)

  it("still goes out in the Authorization header", function()
    local client, fake = client_with { { status = 200, body = '{"email":"a@b.c"}' } }
    assert(client:me())
    assert.are.equal("Bearer " .. TOKEN, fake:header(1, "authorization"))
  end)
end)

describe("a typo in an option", function()
  local function refused(opts)
    local ok, err = pcall(proxyshard.new, opts)
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.kind, tostring(err))
    no_token_in(tostring(err), "the error")
    return err
  end

  it("is refused by new(), naming the option and the closest known name", function()
    local err = refused { token = TOKEN, base_ur = "http://127.0.0.1:8089" }
    assert.are.equal("base_ur", err.argument)
    assert.matches('unknown option "base_ur" %(did you mean "base_url"%?%)', err.message)
    err = refused { token = TOKEN, timout = 5 }
    assert.matches('did you mean "timeout"', err.message)
    err = refused { token = TOKEN, [1] = "x" }
    assert.matches("not an option name", err.message)
    err = refused { token = TOKEN, zzzzzzzzzzzz = true }
    assert.matches("known: .*base_url", err.message)
  end)

  local bad_values = {
    { "base_url", "http://127.0.0.1:8089/\r\nX-Evil: 1" }, { "base_url", "http://127.0.0.1:80 89" },
    { "ca_file", "/etc/ssl/ca.pem\n" }, { "ca_file", "" },
    { "max_response_bytes", 1e300 }, { "max_response_bytes", 0 / 0 }, { "max_response_bytes", 4096.5 },
    { "max_response_bytes", 100 }, { "max_response_bytes", "1048576" },
    { "subrequest_location", "/x\n" }, { "allow_insecure", "yes" }, { "on_request", true },
  }
  for _, case in ipairs(bad_values) do
    it("refuses " .. case[1] .. " = " .. ("%q"):format(tostring(case[2])) .. " as an error value in new()", function()
      local err = refused { token = TOKEN, [case[1]] = case[2] }
      assert.are.equal(case[1], err.argument)
    end)
  end

  it("in a call's options is refused as nil, err, and nothing is sent", function()
    local client, fake = client_with()
    local calls = {
      function() return client:me { max_retry = 0 } end,
      function() return client:order(1):fetch { timeot = 3 } end,
      function() return client:order(1):proxies { x = 1 } end,
      function() return client:order(1):set_signatures({ { ip = "1.2.3.4", signature = "linux" } }, { y = 1 }) end,
      function() return client:order(1):set_signatures { { ip = "1.2.3.4", signatur = "linux" } } end,
      function() return client:order(1):addon("p0f_slots"):quote(2, { max_total = 5 }) end,
      function() return client:order(1):addon("p0f_slots"):schedule_downgrade(2, { reconcile = true }) end,
      function() return client:order(1):addon("p0f_slots"):cancel_downgrade { z = 1 } end,
      function() return client:order(1):addon("p0f_slots"):purchase(2, { max_totl = 60 }) end,
      function() return client:order(1):fetch { timeout = 0 } end,
      function() return client:order(1):fetch "fast" end,
    }
    for i, call in ipairs(calls) do
      local v, err = call()
      assert.is_nil(v, "call " .. i)
      assert.are.equal("invalid_argument", err.kind, "call " .. i)
    end
    assert.are.equal(0, #fake.requests)
  end)

  it("that is right takes effect per call: timeout bounds what the transport is given", function()
    local client, fake = client_with { { status = 200, body = '{"success":true,"order":{"order_id":1}}' } }
    assert(client:order(1):fetch { timeout = 2 })
    assert.is_true(fake.requests[1].timeout <= 2 and fake.requests[1].timeout > 1.5)
  end)
end)

describe("IPs in other spellings", function()
  local cases = { { "::a", "0::a" }, { "2001:db8::1", "2001:0db8:0:0:0:0:0:1" }, { "::ffff:1.2.3.4", "::ffff:102:304" },
    { "FE80::1", "fe80:0::0001" } }
  for _, pair in ipairs(cases) do
    it("refuses " .. pair[1] .. " and " .. pair[2] .. " in one change: the same IP", function()
      local client, fake = client_with()
      local v, err = client:order(1):set_signatures { { ip = pair[1], signature = "linux" },
        { ip = pair[2], signature = "ios" } }
      assert.is_nil(v)
      assert.are.equal("items[2].ip", err.argument)
      assert.matches("repeats", err.message)
      assert.are.equal(0, #fake.requests)
    end)
  end

  it("sends each IP as written", function()
    local client, fake = client_with { { status = 200, body = '{"success":true,"updated":2}' } }
    assert.are.equal(2, client:order(1):set_signatures { { ip = "2001:0db8::1", signature = "linux" },
      { ip = "2001:db8::2", signature = "ios" } })
    assert.matches('"ip":"2001:0db8::1"', fake.requests[1].body)
  end)
end)
