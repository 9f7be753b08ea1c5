-- What is on sale, what it costs, buying it, and the order list: products,
-- available-count, orders/calculate, orders/purchase, orders, orders/{id}.
local State = require "proxyshard.sandbox.world.state"
local caller = require "proxyshard.sandbox.caller"
local cjson = require "cjson"

local CALC = "/user/api/orders/calculate"
local BUY = "/user/api/orders/purchase"
local GB = 1 << 30

describe("sandbox orders", function()
  local sb, c
  before_each(function()
    sb = State.new()
    c = caller.new(sb)
  end)

  local function refused(res)
    assert.are.equal(400, res.status, res.body)
    return res.json.message
  end
  local function wallet() return c:get("/user/api/me").json.wallet_balance end
  local function stock(country, product)
    for _, s in ipairs(c:get("/user/api/proxies/available-count").json) do
      if s.country == country and s.product == product then return s.amount end
    end
  end

  describe("products and stock", function()
    it("lists each product per location, with its cycles", function()
      local res = c:get("/user/api/proxies/products")
      assert.are.equal(200, res.status)
      local seen = {}
      for _, p in ipairs(res.json.products) do
        seen[#seen + 1] = p.name .. " @ " .. tostring(p.location ~= cjson.null and p.location or "-")
          .. ": " .. table.concat(p.cycles, ",")
      end
      assert.are.same({
        "Datacenter Proxy @ DE: monthly,quarterly", "Datacenter Proxy @ US: monthly,quarterly",
        "ISP Proxy @ US: monthly,quarterly", "ISP Proxy @ DE: monthly,quarterly",
        "Standart Residential Proxy @ -: lifetime", "Premium Residential Proxy @ -: lifetime",
      }, seen)
    end)

    it("answers the stock as a bare array", function()
      local res = c:get("/user/api/proxies/available-count")
      assert.truthy(res.body:find("^%["))
      assert.are.same({ country = "DE", product = "ISP Proxy", amount = 8 }, res.json[4])
    end)
  end)

  describe("orders/calculate", function()
    local function quote(q) return c:get(CALC, q).json end

    it("prices by product, cycle and quantity, in cents", function()
      assert.are.same({ original_price = 3000, final_price = 3000, discount_percent = 0, addons_price = 0,
        total_with_addons = 3000 }, quote { product = "Datacenter Proxy", location = "DE", cycle = "monthly",
        quantity = 10 })
      assert.are.equal(810 * 3, quote { product = "Datacenter Proxy", cycle = "quarterly", quantity = 3 }.final_price)
      assert.are.equal(400, quote { product = "ISP Proxy", cycle = "monthly" }.final_price) -- quantity 1
    end)

    it("takes 10 % off with SAVE10, the discount rounded down, and adds add-ons undiscounted", function()
      assert.are.same({ original_price = 3000, final_price = 2700, discount_percent = 10, addons_price = 150,
        total_with_addons = 2850 }, quote { product = "Datacenter Proxy", cycle = "monthly", quantity = 10,
        promo_code = "SAVE10", addons_json = '[{"addon_key":"p0f_slots","qty":5}]' })
      -- ISP add-ons cost 60 a unit
      assert.are.equal(120, quote { product = "ISP Proxy", cycle = "monthly",
        addons_json = '[{"addon_key":"p0f_slots","qty":2}]' }.addons_price)
      -- 3 GB × 145 = 435; 10 % is 43.5, 43 taken off
      assert.are.same({ original_price = 435, final_price = 392, discount_percent = 10, addons_price = 0,
        total_with_addons = 392 },
        quote { product = "Standart Residential Proxy", quantity = 3, promo_code = "SAVE10" })
    end)

    it("gives a residential product its only cycle, and ignores a location for it", function()
      local q = quote { product = "Premium Residential Proxy", quantity = 10, location = "XX" }
      assert.are.equal(3000, q.final_price)
      assert.are.equal(300, quote { product = "Premium Residential Proxy", cycle = "lifetime" }.final_price)
    end)

    it("refuses what purchase would refuse", function()
      local dc = { product = "Datacenter Proxy", cycle = "monthly" }
      local function with(extra)
        local q = {}
        for k, v in pairs(dc) do q[k] = v end
        for k, v in pairs(extra) do q[k] = v end
        return refused(c:get(CALC, q))
      end
      assert.are.equal("Unknown product Gold Proxy", with { product = "Gold Proxy" })
      assert.are.equal("cycle is required for Datacenter Proxy (monthly, quarterly)",
        refused(c:get(CALC, { product = "Datacenter Proxy" })))
      assert.are.equal("Unknown cycle weekly for Datacenter Proxy (monthly, quarterly)", with { cycle = "weekly" })
      assert.are.equal("Unknown location FR for Datacenter Proxy (DE, US)", with { location = "FR" })
      assert.are.equal("Invalid promo code NOPE", with { promo_code = "NOPE" })
      assert.are.equal("Promo code SAVE10 does not apply to the quarterly cycle",
        with { cycle = "quarterly", promo_code = "SAVE10" })
      assert.are.equal("Add-ons are only available for Datacenter and ISP orders", refused(c:get(CALC,
        { product = "Premium Residential Proxy", addons_json = '[{"addon_key":"p0f_slots","qty":1}]' })))
      assert.are.equal("Invalid query: product is required", refused(c:get(CALC)))
    end)
  end)

  describe("orders/purchase", function()
    local dc = { product = "Datacenter Proxy", location = "DE", cycle = "monthly", quantity = 3,
      promo_code = "SAVE10", auto_renewal = true, addons = { { addon_key = "p0f_slots", qty = 2 } } }

    it("charges exactly what calculate says, and the order is there", function()
      local q = c:get(CALC, { product = "Datacenter Proxy", location = "DE", cycle = "monthly", quantity = 3,
        promo_code = "SAVE10", addons_json = '[{"addon_key":"p0f_slots","qty":2}]' }).json
      assert.are.equal(810 + 60, q.total_with_addons)
      local res = c:post(BUY, dc)
      assert.are.same({ success = true, message = "Order paid successfully", order_id = 20000 }, res.json)
      assert.are.equal(10000 - q.total_with_addons, wallet())
      assert.are.equal(500 - 3, stock("DE", "Datacenter Proxy"))

      local o = c:get("/user/api/orders/20000").json.order
      assert.are.same({ 20000, "Datacenter Proxy", "monthly", "active", 3, 810, 60, "SAVE10", true },
        { o.order_id, o.product_name, o.cycle_name, o.status, o.quantity, o.price_paid, o.addons_price_paid,
          o.promo_code, o.auto_renewal })
      -- the sandbox's today, and one cycle on
      assert.are.same({ "2026-11-25T12:00:00Z", "2026-12-25T12:00:00Z" }, { o.created_at, o.expires_at })
      assert.are.same({ { addon_key = "p0f_slots", catalog_id = 1, qty = 2, price_per_unit = 30,
        pending = cjson.null } }, o.addons)
      assert.are.same({ 2, 0, 2 }, { o.p0f_slots_available, o.p0f_slots_used, o.p0f_slots_next })
      assert.are.equal(cjson.null, o.tag)

      local proxies = c:get("/user/api/proxies/active", { order_id = 20000 }).json.data
      assert.are.same({ "2001:db8:0:4e20::1", "2001:db8:0:4e20::2", "2001:db8:0:4e20::3" },
        { proxies[1].ip, proxies[2].ip, proxies[3].ip })
      assert.are.same({ "sbx20000", "sandbox-pass-20000-2", 8002, 9002, "2026-12-25T12:00:00Z" },
        { proxies[2].username, proxies[2].password, proxies[2].http_port, proxies[2].socks_port, proxies[2]["until"] })

      local charge = sb:ledger()[1]
      assert.are.same({ "order", 20000, "Datacenter Proxy", "monthly", 3, 870, 10000 - 870 },
        { charge.kind, charge.order_id, charge.product, charge.cycle, charge.quantity, charge.amount_cents,
          charge.balance_after_cents })
      -- the next one gets the next id; auto-renewal is off unless asked
      assert.are.equal(20001, c:post(BUY, { product = "ISP Proxy", location = "US", cycle = "monthly" }).json.order_id)
      assert.are.equal(false, c:get("/user/api/orders/20001").json.order.auto_renewal)
    end)

    it("buys residential traffic: the GB go to the owner's profile", function()
      local before = c:get("/user/api/proxies/profile", { proxy_type = "premium" }).json
      local res = c:post(BUY, { product = "Premium Residential Proxy", quantity = 4 })
      assert.are.equal(200, res.status)
      local after = c:get("/user/api/proxies/profile", { proxy_type = "premium" }).json
      assert.are.equal(before.data + 4 * GB, after.data)
      assert.are.equal(before.data_remain + 4 * GB, after.data_remain)
      local o = c:get("/user/api/orders/20000").json.order
      assert.are.same({ "lifetime", 4, 1200, cjson.null, cjson.null }, { o.cycle_name, o.quantity, o.price_paid,
        o.expires_at, o.auto_renewal })
      -- traffic has no IPs to list
      assert.are.equal(403, c:get("/user/api/proxies/active", { order_id = 20000 }).status)
      assert.are.equal(10000 - 1200, wallet())
    end)

    it("refuses, changing nothing: balance, stock, product, cycle, location", function()
      local before = sb:snapshot()
      assert.are.equal("Insufficient balance", refused(c:post(BUY,
        { product = "Datacenter Proxy", location = "DE", cycle = "monthly", quantity = 34 }))) -- 10200
      assert.are.equal("Insufficient stock: 8 ISP Proxy left in DE", refused(c:post(BUY,
        { product = "ISP Proxy", location = "DE", cycle = "monthly", quantity = 9 })))
      assert.are.equal("location is required for Datacenter Proxy", refused(c:post(BUY,
        { product = "Datacenter Proxy", cycle = "monthly" })))
      assert.are.equal("Unknown location FR for ISP Proxy (US, DE)", refused(c:post(BUY,
        { product = "ISP Proxy", location = "FR", cycle = "monthly" })))
      assert.are.equal("Unknown cycle daily for ISP Proxy (monthly, quarterly)", refused(c:post(BUY,
        { product = "ISP Proxy", location = "US", cycle = "daily" })))
      assert.are.equal("Unknown product Unmetered Residential proxy", refused(c:post(BUY,
        { product = "Unmetered Residential proxy", cycle = "monthly" })))
      assert.are.equal("Invalid body: addons[1].qty must be an integer from 1 to 10000, got 0", refused(c:post(BUY,
        { product = "ISP Proxy", location = "US", cycle = "monthly",
          addons = { { addon_key = "p0f_slots", qty = 0 } } })))
      local after = sb:snapshot()
      assert.are.same(before.account, after.account)
      assert.are.same(before.orders, after.orders)
      assert.are.same(before.stock, after.stock)
      assert.are.same({}, sb:ledger())
      -- exactly the balance is enough: 33 × 300 = 9900
      assert.are.equal(200, c:post(BUY, { product = "Datacenter Proxy", location = "US", cycle = "monthly",
        quantity = 33 }).status)
      assert.are.equal(100, wallet())
    end)
  end)

  describe("the order list", function()
    local function ids(res)
      local out = {}
      for i, o in ipairs(res.json.orders) do out[i] = o.order_id end
      return out
    end

    it("filters by status", function()
      assert.are.same({ 12345, 12347, 12400, 12401 }, ids(c:get("/user/api/orders", { status = "active" })))
      assert.are.same({ 12346 }, ids(c:get("/user/api/orders", { status = "on-hold" })))
      assert.are.same({ 12348 }, ids(c:get("/user/api/orders", { status = "cancelled" })))
      local all = c:get("/user/api/orders", { status = "all" })
      assert.are.same({ 12345, 12346, 12347, 12348, 12400, 12401 }, ids(all))
      assert.are.equal(6, all.json.count)
    end)

    it("writes each order's product and cycle ids", function()
      local o = c:get("/user/api/orders", { status = "cancelled" }).json.orders[1]
      assert.are.same({ order_id = 12348, product_id = 1, product_name = "Datacenter Proxy", cycle_id = 2,
        cycle_name = "quarterly", expires_at = "2026-07-31T08:00:00Z", auto_renewal = false, tag = "old-scrapers" }, o)
      o = c:get("/user/api/orders", { status = "active", offset = 3 }).json.orders[1]
      assert.are.same({ 12401, 3, 5, cjson.null }, { o.order_id, o.product_id, o.cycle_id, o.expires_at })
    end)

    it("pages with offset and limit; count is of the whole filter; prev and next are null at the ends", function()
      local first = c:get("/user/api/orders", { status = "all", limit = 4 }).json
      assert.are.same({ 4, 6, cjson.null, "/user/api/orders?status=all&offset=4&limit=4" },
        { #first.orders, first.count, first.prev, first.next })
      local last = c:get("/user/api/orders", { status = "all", offset = 4, limit = 4 }).json
      assert.are.same({ 12400, 12401 }, { last.orders[1].order_id, last.orders[2].order_id })
      assert.are.same({ 6, "/user/api/orders?status=all&offset=0&limit=4", cjson.null },
        { last.count, last.prev, last.next })
      local beyond = c:get("/user/api/orders", { status = "all", offset = 10 })
      assert.truthy(beyond.body:find('"orders":[]', 1, true))
      -- a new order is listed last
      c:post(BUY, { product = "Datacenter Proxy", location = "US", cycle = "monthly" })
      assert.are.equal(20000, c:get("/user/api/orders", { status = "active", offset = 4 }).json.orders[1].order_id)
    end)
  end)
end)
