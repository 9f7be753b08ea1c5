--- The 34 calls of the OpenAPI checks (scripts/prism.sh), one per row of
-- proxyshard.operations: how the library makes it (`lib`, on a client) and
-- how the command does (`cli`, its arguments after the global options).
-- The arguments are the sandbox's fixture (orders 12345, 12346, 12400,
-- sub-users u-1 and u-2), in an order that works against it when the calls
-- run one after the other from a fresh state (proxy mode): the renewal
-- takes the on-hold order, the downgrade is scheduled before it is
-- cancelled, the sub-user deleted is not the one the others use. Against
-- `prism mock` any values the document allows would do.
--
-- purchase_order buys a Premium Residential order: of the document's five
-- purchase bodies (a `oneOf`), only the two residential ones validate (the
-- generic variant matches every other body too, so a Datacenter body
-- matches two; api-reference.md §2.6). DC_PURCHASE is the Datacenter body,
-- the one check left out (spec/prism/driver.lua prints why).
local M = {}

-- Any positive price fits under this cap (dynamic answers are any
-- integer), so a generated price is never refused as too dear: only as
-- unreadable. The most a max_total can be, in cents.
local CAP_CENTS = 9007199254740991 -- 2^53 - 1, the largest exact integer (proxyshard.wire.integer)
M.CAP_DOLLARS = ("%d.%02d"):format(CAP_CENTS // 100, CAP_CENTS % 100)
local SPEND = { max_total = CAP_CENTS }
local SPEND_CLI = { "--max-total", M.CAP_DOLLARS, "--yes" }

local function spend_cli(...)
  local out = { ... }
  for _, a in ipairs(SPEND_CLI) do out[#out + 1] = a end
  return out
end

local ORDER, ON_HOLD, RESIDENTIAL_ORDER = 12345, 12346, 12400

-- The handles, as the caller makes them.
local function client(c) return c end
local function order(id) return function(c) return c:order(id) end end
local function addon(c) return c:order(ORDER):addon("p0f_slots") end
local function premium(c) return c:residential("premium") end
local function sub_user(id) return function(c) return c:residential("premium"):sub_user(id) end end

-- { row = "handle.name" (the row of proxyshard.operations), on = fn(client) -> the handle,
--   args = the method's arguments (a spending row's options are added), cli = the command's arguments }
M.list = {
  { row = "client.me", on = client, args = {}, cli = { "me" } },
  { row = "client.products", on = client, args = {}, cli = { "products" } },
  { row = "client.available", on = client, args = {}, cli = { "available" } },
  { row = "client.quote_order", on = client,
    args = { { product = "Datacenter Proxy", location = "DE", cycle = "monthly", quantity = 2, promo_code = "SAVE10",
      addons = { p0f_slots = 1 } } },
    cli = { "quote-order", "--product", "Datacenter Proxy", "--location", "DE", "--cycle", "monthly",
      "--quantity", "2", "--promo-code", "SAVE10", "--addons", "p0f_slots=1" } },
  { row = "client.purchase_order", on = client, args = { { product = "Premium Residential Proxy", quantity = 1 } },
    cli = spend_cli("purchase-order", "--product", "Premium Residential Proxy", "--quantity", "1") },
  { row = "client.orders", on = client, args = { { status = "active", offset = 0, limit = 10 } },
    cli = { "orders", "--status", "active", "--offset", "0", "--limit", "10" } },
  { row = "client.health", on = client, args = {}, cli = { "health" } },
  { row = "client.live", on = client, args = {}, cli = { "live" } },

  { row = "order.fetch", on = order(ORDER), args = {}, cli = { "order", tostring(ORDER) } },
  { row = "order.proxies", on = order(ORDER), args = {}, cli = { "proxies", tostring(ORDER) } },
  -- an IP signed a second time takes no second slot
  { row = "order.set_signatures", on = order(ORDER), args = { { { ip = "203.0.113.11", signature = "win11" } } },
    cli = { "sign", tostring(ORDER), "203.0.113.11=macos" } },
  { row = "order.set_deletion", on = order(ORDER), args = { { { ip = "203.0.113.14", value = true } } },
    cli = { "set-deletion", tostring(ORDER), "203.0.113.14=true", "--yes" } },
  { row = "order.renew", on = order(ON_HOLD), args = {}, cli = spend_cli("renew", tostring(ON_HOLD)) },
  { row = "order.set_tag", on = order(ORDER), args = { "prism" }, cli = { "set-tag", tostring(ORDER), "prism" } },
  { row = "order.change_cycle", on = order(ORDER), args = { "quarterly" },
    cli = { "change-cycle", tostring(ORDER), "quarterly" } },
  { row = "order.set_auto_renewal", on = order(ORDER), args = { false },
    cli = { "set-auto-renewal", tostring(ORDER), "false" } },
  { row = "order.add_bandwidth", on = order(RESIDENTIAL_ORDER), args = { 1 },
    cli = spend_cli("add-bandwidth", tostring(RESIDENTIAL_ORDER), "1") },

  { row = "addon.quote", on = addon, args = { 1 }, cli = { "quote", tostring(ORDER), "p0f_slots", "1" } },
  { row = "addon.purchase", on = addon, args = { 1 }, cli = spend_cli("purchase", tostring(ORDER), "p0f_slots", "1") },
  { row = "addon.schedule_downgrade", on = addon, args = { 2 },
    cli = { "schedule-downgrade", tostring(ORDER), "p0f_slots", "2" } },
  { row = "addon.cancel_downgrade", on = addon, args = {}, cli = { "cancel-downgrade", tostring(ORDER), "p0f_slots" } },

  { row = "residential.profile", on = premium, args = {}, cli = { "profile", "premium" } },
  { row = "residential.sub_users", on = premium, args = { { offset = 0, limit = 10 } },
    cli = { "sub-users", "premium", "--offset", "0", "--limit", "10" } },
  { row = "residential.create_sub_user", on = premium, args = { { name = "prism", data = 1 } },
    cli = { "create-sub-user", "premium", "--name", "prism", "--data", "1" } },
  { row = "residential.countries", on = premium, args = {}, cli = { "countries", "premium" } },
  { row = "residential.regions", on = premium, args = { "DE" }, cli = { "regions", "premium", "DE" } },
  { row = "residential.cities", on = premium, args = { "DE", "BE" }, cli = { "cities", "premium", "DE", "BE" } },
  { row = "residential.isps", on = premium, args = { "DE", "BE", "berlin" },
    cli = { "isps", "premium", "DE", "BE", "berlin" } },

  { row = "sub_user.fetch", on = sub_user("u-1"), args = {}, cli = { "sub-user", "premium", "u-1" } },
  { row = "sub_user.rename", on = sub_user("u-1"), args = { "team-z" },
    cli = { "rename-sub-user", "premium", "u-1", "team-z" } },
  { row = "sub_user.add_data", on = sub_user("u-1"), args = { 1 }, cli = { "add-data", "premium", "u-1", "1" } },
  { row = "sub_user.subtract_data", on = sub_user("u-1"), args = { 1 },
    cli = { "subtract-data", "premium", "u-1", "1" } },
  { row = "sub_user.reset_password", on = sub_user("u-1"), args = {}, cli = { "reset-password", "premium", "u-1" } },
  { row = "sub_user.delete", on = sub_user("u-2"), args = {}, cli = { "delete-sub-user", "premium", "u-2", "--yes" } },
}

--- The spending options of the library's calls (the cap above).
M.SPEND = SPEND

--- The Datacenter purchase body that Prism cannot validate (the document's
-- oneOf flaw): not sent, the reason printed.
M.DC_PURCHASE = { row = "client.purchase_order", what = "purchase_order with a Datacenter/ISP body",
  why = "the document's flaw: its purchase body is a oneOf whose generic variant (PurchaseRequest) also "
    .. "matches every Datacenter/ISP body, so no such body matches exactly one variant; the document means "
    .. "anyOf (api-reference.md 2.6, docs/openapi-checks.md)" }

return M
