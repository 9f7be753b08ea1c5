-- What changes an order, and what GET /orders/{id} then shows: renew, tag,
-- change-billing-cycle, edit-auto-renewal, del-np/set, add-bandwidth.
local State = require "proxyshard.sandbox.world.state"
local fixture = require "proxyshard.sandbox.world.fixture"
local caller = require "proxyshard.sandbox.caller"
local cjson = require "cjson"

local ORDER = "/user/api/orders/"
local GB = 1 << 30

local copy = require("proxyshard.sandbox.state").deep_copy

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
    it("renews an on-hold order: active, charged the cycle's price and its add-ons, expiry moved on", function()
      ack(c:post(ORDER .. "12346/renew"), "Order renewed successfully")
      local o = order(12346)
      -- base 2 IPs × 400 = 800; add-ons 1 p0f slot × 60 = 60: one charge of 860
      assert.are.same({ "active", 800, 60 + 60 }, { o.status, o.price_paid, o.addons_price_paid })
      assert.are.same({ 1, 1, cjson.null }, { o.p0f_slots_available, o.p0f_slots_next, o.addons[1].pending })
      -- it had expired (2026-10-15): a month from the sandbox's today
      assert.are.equal("2026-12-25T12:00:00Z", o.expires_at)
      assert.are.equal(10000 - 860, wallet())
      assert.are.equal(5, c:get("/user/api/me").json.active_orders)
      assert.are.equal(1, #sb:ledger())
      local charge = sb:ledger()[1]
      assert.are.same({ "renewal", 12346, "monthly", 2, 60, 860, 10000 - 860 },
        { charge.kind, charge.order_id, charge.cycle, charge.quantity, charge.addons, charge.amount_cents,
          charge.balance_after_cents })
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
      -- 305 × 30 = 9150: 850 left, the base (800) but not base + add-ons (860)
      c:post(ORDER .. "12345/addons/purchase", { addon_key = "p0f_slots", add_qty = 305 })
      local before = order(12346)
      assert.are.equal("Insufficient balance", refused(c:post(ORDER .. "12346/renew")))
      assert.are.same(before, order(12346))
      assert.are.equal(850, wallet())
      assert.are.equal(1, #sb:ledger())
    end)

    it("drops the IPs del-np marked, and charges for those kept", function()
      ack(c:post(ORDER .. "12346/del-np/set", { items = { { ip = "2001:db8::11", value = true } } }),
        "Deletion flags updated")
      c:post(ORDER .. "12346/renew")
      -- 1 IP × 400, and the p0f slot (1 × 60): del-np leaves the add-ons alone
      assert.are.same({ 460, 60 }, { sb:ledger()[1].amount_cents, sb:ledger()[1].addons })
      local ips = c:get("/user/api/proxies/active", { order_id = 12346 }).json.data
      assert.are.same({ 1, "2001:db8::10" }, { #ips, ips[1].ip })
    end)

    -- The fixture with order 12346 (on hold: ISP, monthly, 2 IPs at 400)
    -- changed by `edit`, and `wallet_balance` cents in the wallet (default
    -- the fixture's).
    local function on_hold(edit, wallet_balance)
      local f = copy(fixture)
      local o = f.orders[2]
      assert(o.order_id == 12346 and o.status == "on-hold")
      edit(o)
      f.account.wallet_balance = wallet_balance or f.account.wallet_balance
      sb = State.new { fixture = f }
      c = caller.new(sb)
    end

    it("charges a pending downgrade's quantity, without the promo, then applies it", function()
      -- 4 slots at 60, down to 2 at the renewal; SAVE10 takes 10% off the base
      -- only: 800 − 80 = 720, add-ons 2 × 60 = 120, 840 in all
      on_hold(function(o)
        o.promo_code = "SAVE10"
        o.addons = { { addon_key = "p0f_slots", catalog_id = 1, qty = 4, price_per_unit = 60,
          pending = { action = "downgrade", next_qty = 2 } } }
      end, 840)
      local before = order(12346)
      assert.are.same({ 4, 2, "downgrade" }, { before.p0f_slots_available, before.p0f_slots_next,
        before.addons[1].pending.action })
      ack(c:post(ORDER .. "12346/renew"), "Order renewed successfully")
      assert.are.equal(0, wallet())
      local charge = sb:ledger()[1]
      assert.are.same({ 1, "renewal", 840, 120, 0 },
        { #sb:ledger(), charge.kind, charge.amount_cents, charge.addons, charge.balance_after_cents })
      local o = order(12346)
      assert.are.same({ "active", 720, 60 + 120 }, { o.status, o.price_paid, o.addons_price_paid })
      assert.are.same({ { addon_key = "p0f_slots", catalog_id = 1, qty = 2, price_per_unit = 60,
        pending = cjson.null } }, o.addons)
      assert.are.same({ 2, 2 }, { o.p0f_slots_available, o.p0f_slots_next })
    end)

    it("refuses a wallet one cent short of base + add-ons, pending change and all left as they were", function()
      on_hold(function(o)
        o.addons = { { addon_key = "p0f_slots", catalog_id = 1, qty = 4, price_per_unit = 60,
          pending = { action = "downgrade", next_qty = 2 } } }
      end, 800 + 120 - 1)
      local before = order(12346)
      assert.are.equal("Insufficient balance", refused(c:post(ORDER .. "12346/renew")))
      assert.are.same(before, order(12346))
      assert.are.same({ 919, 0 }, { wallet(), #sb:ledger() })
    end)

    it("charges nothing for an add-on cancelled at the renewal; its line stays at qty 0", function()
      on_hold(function(o)
        o.addons = { { addon_key = "p0f_slots", catalog_id = 1, qty = 1, price_per_unit = 60,
          pending = { action = "cancel" } } }
      end)
      ack(c:post(ORDER .. "12346/renew"), "Order renewed successfully")
      assert.are.same({ 800, 0 }, { sb:ledger()[1].amount_cents, sb:ledger()[1].addons })
      local o = order(12346)
      assert.are.same({ 800, 60 }, { o.price_paid, o.addons_price_paid })
      assert.are.same({ 0, cjson.null }, { o.addons[1].qty, o.addons[1].pending })
      assert.are.same({ 0, 0 }, { o.p0f_slots_available, o.p0f_slots_next })
    end)

    it("charges an order without add-ons the base alone, as before", function()
      on_hold(function(o) o.addons, o.addons_price_paid = {}, 0 end)
      ack(c:post(ORDER .. "12346/renew"), "Order renewed successfully")
      assert.are.equal(10000 - 800, wallet())
      assert.are.same({ 800, 0 }, { sb:ledger()[1].amount_cents, sb:ledger()[1].addons })
      local o = order(12346)
      assert.are.same({ "active", 800, 0 }, { o.status, o.price_paid, o.addons_price_paid })
      assert.are.same({}, o.addons)
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
