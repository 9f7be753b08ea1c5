-- What changes an order, and what GET /orders/{id} then shows: renew, tag,
-- change-billing-cycle, edit-auto-renewal, del-np/set, add-bandwidth.
local State = require "proxyshard.sandbox.world.state"
local caller = require "proxyshard.sandbox.caller"
local cjson = require "cjson"

local ORDER = "/user/api/orders/"
local GB = 1 << 30

describe("sandbox order changes", function()
  local sb, c
  before_each(function()
    sb = State.new()
    c = caller.new(sb)
  end)

  local function refused(res, status)
    assert.are.equal(status or 400, res.status, res.body)
    return res.json.message
  end
  local function order(id) return c:get(ORDER .. id).json.order end
  local function wallet() return c:get("/user/api/me").json.wallet_balance end
  local function ack(res, message)
    assert.are.equal(200, res.status, res.body)
    assert.are.same({ success = true, message = message }, res.json)
  end

  describe("renew", function()
    it("renews an on-hold order: active, charged the cycle's price, expiry moved on", function()
      ack(c:post(ORDER .. "12346/renew"), "Order renewed successfully")
      local o = order(12346)
      assert.are.same({ "active", 800 }, { o.status, o.price_paid })
      -- it had expired (2026-10-15): a month from the sandbox's today
      assert.are.equal("2026-12-25T12:00:00Z", o.expires_at)
      assert.are.equal(10000 - 800, wallet())
      assert.are.equal(5, c:get("/user/api/me").json.active_orders)
      local charge = sb:ledger()[1]
      assert.are.same({ "renewal", 12346, "monthly", 2, 800 },
        { charge.kind, charge.order_id, charge.cycle, charge.quantity, charge.amount_cents })
      assert.are.equal("2026-12-25T12:00:00Z", c:get("/user/api/proxies/active", { order_id = 12346 }).json.data[1]
        ["until"])
    end)

    it("renews only on-hold orders", function()
      assert.are.equal("Only on-hold orders can be renewed (order 12345 is active)",
        refused(c:post(ORDER .. "12345/renew")))
      assert.are.equal("Only on-hold orders can be renewed (order 12348 is cancelled)",
        refused(c:post(ORDER .. "12348/renew")))
      c:post(ORDER .. "12346/renew")
      assert.are.equal("Only on-hold orders can be renewed (order 12346 is active)",
        refused(c:post(ORDER .. "12346/renew")))
      assert.are.equal("Order not found", refused(c:post(ORDER .. "999/renew"), 404))
      assert.are.equal(1, #sb:ledger())
    end)

    it("refuses on a short wallet and changes nothing", function()
      c:post(ORDER .. "12345/addons/purchase", { addon_key = "p0f_slots", add_qty = 310 }) -- 9300: 700 left
      local before = order(12346)
      assert.are.equal("Insufficient balance", refused(c:post(ORDER .. "12346/renew")))
      assert.are.same(before, order(12346))
      assert.are.equal(700, wallet())
    end)

    it("drops the IPs del-np marked, and charges for those kept", function()
      ack(c:post(ORDER .. "12346/del-np/set", { items = { { ip = "2001:db8::11", value = true } } }),
        "Deletion flags updated")
      c:post(ORDER .. "12346/renew")
      assert.are.equal(400, sb:ledger()[1].amount_cents)
      local ips = c:get("/user/api/proxies/active", { order_id = 12346 }).json.data
      assert.are.same({ 1, "2001:db8::10" }, { #ips, ips[1].ip })
    end)
  end)

  describe("tag", function()
    it("sets and clears the tag that fetch, the list and the proxies show", function()
      ack(c:post(ORDER .. "12347/tag", { tag = "crawlers" }), "Order tag updated")
      assert.are.equal("crawlers", order(12347).tag)
      assert.are.equal("crawlers", c:get("/user/api/proxies/active", { order_id = 12347 }).json.order_tag)
      assert.are.equal("crawlers", c:get("/user/api/orders", { status = "active", limit = 2 }).json.orders[2].tag)
      ack(c:post(ORDER .. "12347/tag", { tag = "" }), "Order tag updated")
      assert.are.equal(cjson.null, order(12347).tag)
    end)
  end)

  describe("change-billing-cycle", function()
    local function change(id, cycle)
      return c:post("/user/api/orders/change-billing-cycle/" .. id, { cycle = cycle })
    end

    it("switches the cycle and answers its price (1.1.0)", function()
      local res = change(12345, "quarterly")
      assert.are.same({ success = true, message = "Billing cycle changed", order_id = 12345, original_price = 4050,
        final_price = 4050, discount_percent = 0 }, res.json)
      local o = order(12345)
      -- from the next renewal on: what was paid and the expiry stay
      assert.are.same({ "quarterly", 1500, "2026-12-01T09:00:00Z" }, { o.cycle_name, o.price_paid, o.expires_at })
      assert.are.equal(2, c:get("/user/api/orders", { status = "active" }).json.orders[1].cycle_id)
      assert.are.same({}, sb:ledger())
    end)

    it("keeps a promo code that applies to the new cycle and drops one that does not", function()
      c:post("/user/api/orders/purchase", { product = "ISP Proxy", location = "US", cycle = "quarterly", quantity = 2 })
      c:post("/user/api/orders/purchase", { product = "ISP Proxy", location = "US", cycle = "monthly", quantity = 2,
        promo_code = "SAVE10" })
      local j = change(20001, "monthly").json
      assert.are.same({ 800, 720, 10 }, { j.original_price, j.final_price, j.discount_percent })
      assert.are.equal("SAVE10", order(20001).promo_code)
      j = change(20001, "quarterly").json
      assert.are.same({ 2160, 2160, 0 }, { j.original_price, j.final_price, j.discount_percent })
      assert.are.equal(cjson.null, order(20001).promo_code)
    end)

    it("refuses an unknown cycle, and residential orders", function()
      assert.are.equal("Unknown cycle weekly for Datacenter Proxy (monthly, quarterly)",
        refused(change(12345, "weekly")))
      assert.are.equal("Billing cycle can only be changed on Datacenter and ISP orders",
        refused(change(12400, "lifetime")))
      assert.are.equal("Order not found", refused(change(1, "monthly"), 404))
      assert.are.equal("monthly", order(12345).cycle_name)
    end)
  end)

  describe("edit-auto-renewal", function()
    local function set(id, on)
      return c:post("/user/api/orders/edit-auto-renewal/" .. id, {}, { auto_renewal = tostring(on) })
    end

    it("turns auto-renewal on and off", function()
      ack(set(12347, true), "Auto-renewal updated")
      assert.are.equal(true, order(12347).auto_renewal)
      assert.are.equal(true, c:get("/user/api/orders", { status = "active", limit = 2 }).json.orders[2].auto_renewal)
      ack(set(12347, false), "Auto-renewal updated")
      assert.are.equal(false, order(12347).auto_renewal)
    end)

    it("is for Datacenter and ISP orders only", function()
      assert.are.equal("Invalid product for this operation", refused(set(12401, true)))
      assert.are.equal(cjson.null, order(12401).auto_renewal)
    end)
  end)

  describe("del-np/set", function()
    local function mark(id, ...)
      local items, args = {}, { ... }
      for i = 1, #args, 2 do items[#items + 1] = { ip = args[i], value = args[i + 1] } end
      return c:post(ORDER .. id .. "/del-np/set", { items = items })
    end

    it("marks IPs; quantity and price_paid follow the IPs kept", function()
      ack(mark(12345, "203.0.113.14", true), "Deletion flags updated")
      assert.are.same({ 4, 1200 }, { order(12345).quantity, order(12345).price_paid })
      mark(12345, "203.0.113.13", true, "203.0.113.12", true)
      assert.are.same({ 2, 600 }, { order(12345).quantity, order(12345).price_paid })
      mark(12345, "203.0.113.14", false)
      assert.are.same({ 3, 900 }, { order(12345).quantity, order(12345).price_paid })
      -- marked IPs stay listed until the renewal
      assert.are.equal(5, #c:get("/user/api/proxies/active", { order_id = 12345 }).json.data)
      assert.are.same({}, sb:ledger())
    end)

    it("compares IPs by their canonical spelling; the last value of an IP wins", function()
      mark(12346, "2001:0DB8:0:0::11", true)
      assert.are.same({ 1, 400 }, { order(12346).quantity, order(12346).price_paid })
      mark(12346, "2001:db8::11", true, "2001:db8:0::11", false)
      assert.are.equal(2, order(12346).quantity)
    end)

    it("refuses to keep no IP at all (keep=0), and changes nothing", function()
      assert.are.equal("keep=0: at least one IP of the order must be kept",
        refused(mark(12347, "198.51.100.20", true, "198.51.100.21", true)))
      mark(12347, "198.51.100.20", true)
      assert.are.equal("keep=0: at least one IP of the order must be kept", refused(mark(12347, "198.51.100.21", true)))
      assert.are.same({ 1, 300 }, { order(12347).quantity, order(12347).price_paid })
    end)

    it("refuses IPs of another order, and residential orders", function()
      assert.are.equal("IP 198.51.100.20 does not belong to order", refused(mark(12345, "198.51.100.20", true)))
      assert.are.equal("del-np is only available for Datacenter and ISP orders", refused(mark(12400, "::1", true)))
      assert.are.equal(5, order(12345).quantity)
    end)
  end)

  describe("add-bandwidth", function()
    local function profile() return c:get("/user/api/proxies/profile", { proxy_type = "premium" }).json end

    it("charges per GB and adds the traffic to the owner's profile", function()
      local before = profile()
      ack(c:post(ORDER .. "12400/add-bandwidth", { amount = 5 }), "Order paid successfully")
      assert.are.equal(10000 - 5 * 300, wallet())
      assert.are.equal(before.data + 5 * GB, profile().data)
      assert.are.equal(before.data_remain + 5 * GB, profile().data_remain)
      assert.are.equal(55, order(12400).quantity)
      local charge = sb:ledger()[1]
      assert.are.same({ "bandwidth", 12400, 5, 1500 }, { charge.kind, charge.order_id, charge.gb, charge.amount_cents })
      -- the standart account is a separate one; SAVE10 applies to lifetime plans
      ack(c:post(ORDER .. "12401/add-bandwidth", { amount = 3, promo_code = "SAVE10" }), "Order paid successfully")
      assert.are.equal(392, sb:ledger()[2].amount_cents)
      assert.are.equal(before.data + 5 * GB, profile().data)
    end)

    it("refuses non-residential orders, bad promo codes and a short wallet", function()
      assert.are.equal("Bandwidth can be added to residential orders only",
        refused(c:post(ORDER .. "12345/add-bandwidth", { amount = 1 })))
      assert.are.equal("Invalid promo code X", refused(c:post(ORDER .. "12400/add-bandwidth",
        { amount = 1, promo_code = "X" })))
      local before = profile()
      assert.are.equal("Insufficient balance", refused(c:post(ORDER .. "12400/add-bandwidth", { amount = 34 })))
      assert.are.same(before, profile())
      assert.are.same({}, sb:ledger())
    end)
  end)
end)
