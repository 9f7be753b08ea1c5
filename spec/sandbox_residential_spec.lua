-- Residential accounts: the owner's profile, sub-users and the traffic that
-- moves between them (never below zero), passwords; and the targeting lists.
local State = require "proxyshard.sandbox.world.state"
local caller = require "proxyshard.sandbox.caller"

local SUB = "/user/api/proxies/sub-user/"
local GB = 1 << 30
local PREMIUM = { proxy_type = "premium" }
local STANDART = { proxy_type = "standart" }

describe("sandbox residential", function()
  local sb, c
  before_each(function()
    sb = State.new()
    c = caller.new(sb)
  end)

  local function refused(res, status)
    assert.are.equal(status or 400, res.status, res.body)
    return res.json.message
  end
  local function ack(res, message)
    assert.are.equal(200, res.status, res.body)
    assert.are.same({ success = true, message = message }, res.json)
  end
  local function profile(q) return c:get("/user/api/proxies/profile", q or PREMIUM).json end
  local function sub_user(id, q) return c:get(SUB .. id, q or PREMIUM).json.data[1] end
  -- the list is the answer that says what a sub-user has left
  local function listed(id, q)
    for _, u in ipairs(c:get("/user/api/proxies/sub-users", q or PREMIUM).json.data) do
      if u.user_id == id then return u end
    end
  end

  it("has an owner's traffic per proxy type, in bytes", function()
    assert.are.same({ success = true, data = 42 * GB, data_remain = 30 * GB, data_spent = 12 * GB,
      proxy_password = "sbx-premium-owner" }, profile())
    assert.are.same({ success = true, data = 18 * GB, data_remain = 15 * GB, data_spent = 3 * GB,
      proxy_password = "sbx-standart-owner" }, profile(STANDART))
  end)

  it("says when an account of the type is not set up", function()
    local empty = caller.new(State.new { fixture = { account = { email = "x@y.test", wallet_balance = 0 } } })
    assert.are.equal("User resident not set for premium",
      refused(empty:get("/user/api/proxies/profile", PREMIUM)))
    assert.are.equal("User resident not set for premium", refused(empty:get("/user/api/proxies/sub-users", PREMIUM)))
  end)

  describe("sub-users", function()
    it("lists them per proxy type, paged, with the count of all", function()
      local res = c:get("/user/api/proxies/sub-users", PREMIUM)
      -- a sub-user's traffic in GB (the profile's is in bytes)
      assert.are.same({ success = true, count = 2, data = {
        { user_id = "u-1", first_name = "team-a", proxy_password = "sbx-sub-u-1", data = 5,
          data_spent = 1, data_remain = 4 },
        { user_id = "u-2", first_name = "team-b", proxy_password = "sbx-sub-u-2", data = 3,
          data_spent = 3, data_remain = 0 },
      } }, res.json)
      local page = c:get("/user/api/proxies/sub-users", { proxy_type = "premium", offset = 1, limit = 1 }).json
      assert.are.same({ 2, 1, "u-2" }, { page.count, #page.data, page.data[1].user_id })
      page = c:get("/user/api/proxies/sub-users", { proxy_type = "premium", offset = 2 })
      assert.truthy(page.body:find('"data":[]', 1, true))
      assert.are.equal("u-3", c:get("/user/api/proxies/sub-users", STANDART).json.data[1].user_id)
    end)

    it("creates one with traffic taken from the owner; it is listed and fetched", function()
      local res = c:post("/user/api/proxies/sub-user", { name = "team-c", data = 10 }, PREMIUM)
      assert.are.equal(200, res.status, res.body)
      assert.are.same({ success = true, data = { { user_id = "u-4", first_name = "team-c",
        proxy_password = "sbx-u-4-pw1", data = 10, data_spent = 0 } } }, res.json)
      assert.are.same({ 32 * GB, 20 * GB }, { profile().data, profile().data_remain })
      -- reading one answers without the id (1.1.0)
      assert.are.same({ first_name = "team-c", proxy_password = "sbx-u-4-pw1", data = 10, data_spent = 0 },
        sub_user("u-4"))
      assert.are.equal(10, listed("u-4").data_remain)
      assert.are.equal(3, c:get("/user/api/proxies/sub-users", PREMIUM).json.count)
      -- ids are unique across both types
      assert.are.equal("u-5", c:post("/user/api/proxies/sub-user", { name = "s", data = 1 }, STANDART).json.data[1]
        .user_id)
    end)

    it("refuses to give a new sub-user more than the owner has left", function()
      assert.are.equal("Not enough traffic: the owner has 30.00 GB left, 31.00 GB asked",
        refused(c:post("/user/api/proxies/sub-user", { name = "greedy", data = 31 }, PREMIUM)))
      assert.are.equal(2, c:get("/user/api/proxies/sub-users", PREMIUM).json.count)
      assert.are.equal(42 * GB, profile().data)
      -- exactly what is left is fine, and leaves the owner none
      assert.are.equal(200, c:post("/user/api/proxies/sub-user", { name = "all", data = 30 }, PREMIUM).status)
      assert.are.equal(0, profile().data_remain)
    end)

    it("finds a sub-user only under its own proxy type", function()
      assert.are.equal("Sub user not found", refused(c:get(SUB .. "u-3", PREMIUM), 404))
      assert.are.equal("crawler", sub_user("u-3", STANDART).first_name)
      assert.are.equal("Sub user not found", refused(c:get(SUB .. "nobody", PREMIUM), 404))
    end)

    it("renames", function()
      ack(c:patch(SUB .. "u-1", { name = "team-z" }, PREMIUM), "Sub user edited successfully")
      assert.are.equal("team-z", sub_user("u-1").first_name)
      assert.are.equal("Sub user not found", refused(c:patch(SUB .. "u-1", { name = "x" }, STANDART), 404))
    end)

    it("moves traffic from the owner to the sub-user and back, never below zero", function()
      ack(c:post(SUB .. "u-1/data/add", { data = 2 }, PREMIUM), "Traffic added to sub user successfully")
      assert.are.same({ 7, 6 }, { sub_user("u-1").data, listed("u-1").data_remain })
      assert.are.same({ 40 * GB, 28 * GB }, { profile().data, profile().data_remain })
      ack(c:post(SUB .. "u-1/data/subtract", { data = 6 }, PREMIUM), "Traffic subtracted from sub user successfully")
      assert.are.same({ 1, 0 }, { sub_user("u-1").data, listed("u-1").data_remain })
      assert.are.same({ 46 * GB, 34 * GB }, { profile().data, profile().data_remain })
      -- nothing left on the sub-user: nothing to take back
      assert.are.equal("Not enough traffic: the sub-user has 0.00 GB left, 1.00 GB asked",
        refused(c:post(SUB .. "u-1/data/subtract", { data = 1 }, PREMIUM)))
      assert.are.equal("Not enough traffic: the owner has 34.00 GB left, 35.00 GB asked",
        refused(c:post(SUB .. "u-1/data/add", { data = 35 }, PREMIUM)))
      assert.are.same({ 1, 46 * GB }, { sub_user("u-1").data, profile().data })
      assert.are.equal("Invalid body: data must be a whole number of GB from 1 to 100000, got 0",
        refused(c:post(SUB .. "u-1/data/add", { data = 0 }, PREMIUM)))
    end)

    it("deletes one, giving what it had left back to the owner", function()
      ack(c:delete(SUB .. "u-1"), "Sub user deleted successfully") -- 4 GB left on it
      assert.are.same({ 46 * GB, 34 * GB }, { profile().data, profile().data_remain })
      assert.are.same({ 1, "u-2" }, { c:get("/user/api/proxies/sub-users", PREMIUM).json.count,
        c:get("/user/api/proxies/sub-users", PREMIUM).json.data[1].user_id })
      assert.are.equal("Sub user not found", refused(c:delete(SUB .. "u-1"), 404))
      -- DELETE names no proxy type: a standart sub-user is found too
      ack(c:delete(SUB .. "u-3"), "Sub user deleted successfully")
      assert.are.equal(20 * GB, profile(STANDART).data)
    end)

    it("gives a new password, counted, which fetch then shows", function()
      ack(c:post(SUB .. "u-2/password", nil, PREMIUM), "Sub user password changed successfully")
      assert.are.equal("sbx-u-2-pw1", sub_user("u-2").proxy_password)
      c:post(SUB .. "u-2/password", nil, PREMIUM)
      assert.are.equal("sbx-u-2-pw2", sub_user("u-2").proxy_password)
      assert.are.equal("sbx-sub-u-1", sub_user("u-1").proxy_password)
      -- the same after a reset: deterministic
      sb:reset()
      c:post(SUB .. "u-2/password", nil, PREMIUM)
      assert.are.equal("sbx-u-2-pw1", sub_user("u-2").proxy_password)
    end)
  end)

  describe("targeting", function()
    local function codes(res)
      local out = {}
      for i, x in ipairs(res.json.results) do out[i] = x.code end
      return { res.json.count, out }
    end

    it("lists countries, regions, cities and ISPs from the fixture", function()
      assert.are.same({ 2, { "DE", "US" } }, codes(c:get("/user/api/proxies/countries", STANDART)))
      local res = c:get("/user/api/proxies/regions", { proxy_type = "premium", country_code = "DE" })
      assert.are.same({ count = 1, results = { { code = "BE", name = "Berlin",
        country = { code = "DE", name = "Germany" } } } }, res.json)
      res = c:get("/user/api/proxies/cities", { proxy_type = "standart", country_code = "US", region_code = "CA" })
      assert.are.same({ count = 1, results = { { code = "los-angeles", name = "Los Angeles",
        country = { code = "US", name = "United States" }, region = { code = "CA", name = "California" } } } },
        res.json)
      res = c:get("/user/api/proxies/isps", { proxy_type = "premium", country_code = "DE", region_code = "BE",
        city_code = "berlin" })
      assert.are.same({ count = 1, results = { { code = "deutsche-telekom", name = "Deutsche Telekom",
        country = { code = "DE", name = "Germany" }, region = { code = "BE", name = "Berlin" } } } }, res.json)
    end)

    it("takes codes in any case, and answers an empty list for a place it does not know", function()
      assert.are.same({ 1, { "BE" } }, codes(c:get("/user/api/proxies/regions",
        { proxy_type = "premium", country_code = "de" })))
      assert.are.same({ 1, { "berlin" } }, codes(c:get("/user/api/proxies/cities",
        { proxy_type = "premium", country_code = "de", region_code = "be" })))
      local res = c:get("/user/api/proxies/regions", { proxy_type = "premium", country_code = "FR" })
      assert.are.same({ 0, {} }, codes(res))
      assert.truthy(res.body:find('"results":[]', 1, true))
      -- ISPs are listed for some cities only
      assert.are.same({ 0, {} }, codes(c:get("/user/api/proxies/isps", { proxy_type = "premium",
        country_code = "US", region_code = "CA", city_code = "los-angeles" })))
    end)

    it("lists ISPs for the premium proxy type only", function()
      assert.are.equal("ISP targeting is available for the premium package only", refused(c:get(
        "/user/api/proxies/isps", { proxy_type = "standart", country_code = "DE", region_code = "BE",
        city_code = "berlin" })))
      assert.are.equal("Invalid query: city_code is required", refused(c:get("/user/api/proxies/isps",
        { proxy_type = "premium", country_code = "DE", region_code = "BE" })))
    end)
  end)
end)
