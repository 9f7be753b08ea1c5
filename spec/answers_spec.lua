-- Answers the document allows are read (issue 17, item 2), as Prism's
-- generated answers showed: a field the document leaves optional may be
-- absent, an empty list is a list, and an order's own values that the
-- price calculation cannot take make an estimate without a price (which a
-- cap then refuses), never the caller's invalid_argument. Over the fake
-- transport.
local proxyshard = require "proxyshard"
local fake_transport = require "support.fake_transport"

local function client_with(fake)
  return proxyshard.new { token = "tok-answers-spec", transport = fake, sleep = function() end }
end

describe("an answer the document allows", function()
  it("sub-users without `data` is an empty page", function()
    local fake = fake_transport.new():json('{"success":true,"count":0}')
    local page = assert(client_with(fake):residential("premium"):sub_users())
    assert.are.equal(0, #page.sub_users)
    assert.is_nil(page.next_offset)
    assert.are.equal("(none)\n(0 of 0 sub-users)", tostring(page))
  end)

  it("a sub-user read that lists none (data absent or empty) says there is no such sub-user", function()
    for _, body in ipairs { '{"success":true,"data":[]}', '{"success":true}' } do
      local fake = fake_transport.new():json(body)
      local v, err = client_with(fake):residential("premium"):sub_user("u-9"):fetch()
      assert.is_nil(v)
      assert.are.equal("not_found", err.kind, body)
      assert.matches("lists no sub%-user u%-9", err.message)
    end
  end)

  it("an order of quantity 0 renewed under a cap: no price, refused as budget, nothing sent", function()
    local fake = fake_transport.new()
      :json('{"success":true,"order":{"order_id":7,"product_name":"Datacenter Proxy","cycle_name":"monthly",'
        .. '"quantity":0,"status":"active","addons":[]}}')
    local v, err = client_with(fake):order(7):renew { max_total = 100 }
    assert.is_nil(v)
    assert.are.equal("budget", err.kind, tostring(err))
    assert.matches("no price", err.message)
    for _, r in ipairs(fake.requests) do
      assert.are.equal("GET", r.method, r.url) -- read, never the renewal
    end
  end)
end)
