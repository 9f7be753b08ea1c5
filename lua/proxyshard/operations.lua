--- The ProxyShard User API, one row per operation: the 34 operations of
-- the OpenAPI document 1.1.0. The client's methods, the sandbox's routes,
-- the CLI's commands and help() are all made from these rows, so an
-- operation is written once. docs/operations.md explains the fields;
-- spec/operations_coverage_spec.lua checks the rows against the document.
--
-- A row:
--   name     the Lua method (unique); `handle` says on what it lives:
--            client | order | addon | residential | sub_user
--   method, path   HTTP; `{name}` in the path is a path parameter
--   class    "read": a GET, retried when that is safe; "write": changes
--            state, never resent blindly, `unknown_outcome` when lost
--   spends   true when it charges the wallet: the method is the one
--            spending flow (proxyshard.flows.spend) around the row, and
--            takes its options (SPEND_OPTIONS) besides the call options
--   price    how the spending flow prices it before sending (a function
--            of proxyshard.flows.price): the API's quote, or an estimate
--   evidence what the spending flow reads to see the charge and, after an
--            unknown outcome, whether it was done (proxyshard.flows.evidence)
--   auth     false for the two health probes (no token is sent)
--   summary  one line, for help() and the call table of docs/library.md
--   params   in the order the API lists them; each
--              name     the Lua name          wire  the API's, when different
--              at       "path" | "query" | "body"
--              check    a validator of proxyshard.validate: check(v, name)
--              required the API requires it   bound the handle gives it
--              value    a constant the call always sends
--              enum     the values the document allows this operation,
--                       when fewer than the validator's (checked even
--                       for a bound value)
--   args     how the caller passes the unbound params: a list of names
--            (positional), or "table" (one table of named fields). Other
--            params come from the call's options (`opts`, the last argument)
--   answer   the shape of the 200 answer (proxyshard.shapes' notation);
--            false: the status alone is the answer (no JSON is read)
--   legacy   answer fields the 1.0.0 document had and 1.1.0 dropped, still
--            read (the server may be either): not in the 1.1.0 document
--   asks     true: the command asks before sending (or takes --yes), as
--            for a spend: it deletes what cannot be had back
--   result   the answer's field that is the call's result (default: all)
--   model    the proxyshard.model.* module that wraps the result
--   all      the row is a page of a list: a second method reads every
--            page ({ method, field = the list's field, params = the row's
--            table fields it keeps, summary }, proxyshard.flows.pages)
--   command  the command's name when it is not the method's, dashed
--   text     how the command prints a bare result: a format for a number,
--            or { yes, no } for a boolean
--   also     the names of the method's values after the first (printed)
--   example  one line of Lua for help() and the docs
local shapes = require "proxyshard.shapes"

local ORDER = { "order_id", at = "path", check = "id", required = true, bound = "order" }
local ORDER_AS_ID = { "order_id", wire = "id", at = "path", check = "id", required = true, bound = "order" }
local ADDON_KEY = { "addon_key", at = "body", check = "addon_key", required = true, bound = "addon" }
local PROXY_TYPE = { "proxy_type", at = "query", check = "proxy_type", required = true, bound = "residential" }
local USER_ID = { "user_id", at = "path", check = "user_id", required = true, bound = "sub_user" }
local DATA_GB = { "gb", wire = "data", at = "body", check = "gb", required = true }

local ack = { success = "boolean", message = "string" }

local function paged(item)
  return { count = "integer", results = { list = item }, required = { "results" } }
end

local rows = {
  -- General
  { name = "me", handle = "client", method = "GET", path = "/user/api/me", class = "read",
    summary = "the account: email, active orders and wallet balance",
    params = {}, args = {},
    answer = { email = "string", active_orders = "integer", wallet_balance = "money" },
    model = "account", example = "client:me()" },

  { name = "products", handle = "client", method = "GET", path = "/user/api/proxies/products", class = "read",
    summary = "the products on sale, with their locations and billing cycles",
    params = {}, args = {},
    answer = { success = "boolean", products = { list = shapes.product }, required = { "products" } },
    result = "products", model = "product", example = "client:products()" },

  { name = "available", handle = "client", method = "GET", path = "/user/api/proxies/available-count",
    class = "read", summary = "stock: how many proxies are available, per country and product",
    params = {}, args = {},
    answer = { list = shapes.stock }, model = "stock", example = "client:available()" },

  { name = "quote_order", handle = "client", method = "GET", path = "/user/api/orders/calculate", class = "read",
    summary = "the price of a new order (nothing is bought)",
    params = {
      { "product", at = "query", check = "text", required = true },
      { "location", at = "query", check = "text" },
      { "cycle", at = "query", check = "text" },
      { "quantity", at = "query", check = "quantity" },
      { "promo_code", at = "query", check = "text" },
      { "addons", wire = "addons_json", at = "query", check = "addons_json" },
    },
    args = "table",
    answer = { original_price = "price", final_price = "price", discount_percent = "integer",
      addons_price = "price", total_with_addons = "price" },
    model = "order_quote",
    example = 'client:quote_order{ product = "Datacenter Proxy", location = "DE", cycle = "monthly", '
      .. 'quantity = 10, addons = { p0f_slots = 5 } }' },

  { name = "purchase_order", handle = "client", method = "POST", path = "/user/api/orders/purchase",
    class = "write", spends = true, price = "order_quote", evidence = "new_order",
    summary = "buy a new order, at the price of its quote; nothing above max_total",
    params = {
      { "product", at = "body", check = "text", required = true },
      { "location", at = "body", check = "text" },
      { "cycle", at = "body", check = "text" },
      { "quantity", at = "body", check = "quantity" },
      { "promo_code", at = "body", check = "text" },
      { "auto_renewal", at = "body", check = "boolean" },
      { "addons", at = "body", check = "addons_list" },
    },
    args = "table",
    answer = { success = "boolean", message = "string", order_id = "integer" },
    model = "order_receipt",
    example = 'client:purchase_order({ product = "Datacenter Proxy", location = "DE", cycle = "monthly", '
      .. 'quantity = 10 }, { max_total = "50.00", reconcile = true })' },

  { name = "orders", handle = "client", method = "GET", path = "/user/api/orders", class = "read",
    summary = "one page of the orders with a status (active, on-hold, cancelled, all)",
    params = {
      { "status", at = "query", check = "order_status", required = true },
      { "offset", at = "query", check = "offset" },
      { "limit", at = "query", check = "limit" },
    },
    args = "table",
    answer = { success = "boolean", orders = { list = shapes.order_summary }, count = "integer",
      prev = "string", next = "string", required = { "orders" } },
    all = { method = "all_orders", field = "orders", params = { "status" },
      summary = "every order with a status, all pages read" },
    model = "order_page", example = 'client:orders{ status = "active", limit = 50 }' },

  { name = "health", handle = "client", method = "GET", path = "/health", class = "read", auth = false,
    summary = "true when the API is up (no token is sent)", params = {}, args = {},
    answer = false, text = { "up", "down" }, example = "client:health()" },

  { name = "live", handle = "client", method = "GET", path = "/health/live", class = "read", auth = false,
    summary = "true when the API process is alive (no token is sent)", params = {}, args = {},
    answer = false, text = { "alive", "not alive" }, example = "client:live()" },

  -- An order
  { name = "fetch", handle = "order", method = "GET", path = "/user/api/orders/{id}", class = "read",
    summary = "the order's details: status, prices, add-on lines, p0f slots",
    params = { ORDER_AS_ID }, args = {},
    answer = { success = "boolean", order = { object = shapes.order }, required = { "order" } },
    result = "order", model = "order_info", command = "order", example = "client:order(12345):fetch()" },

  { name = "proxies", handle = "order", method = "GET", path = "/user/api/proxies/active", class = "read",
    summary = "the order's proxy IPs with credentials, ports and OS signature",
    params = { { "order_id", at = "query", check = "id", required = true, bound = "order" } }, args = {},
    answer = { success = "boolean", data = { list = shapes.active_proxy }, order_tag = "string",
      required = { "data" } },
    model = "proxy_list", also = { "order_tag" }, example = "client:order(12345):proxies()" },

  { name = "set_signatures", handle = "order", method = "POST", path = "/user/api/orders/{order_id}/signature/set",
    class = "write",
    summary = "set the OS (p0f) signature of IPs; each IP signed for the first time takes a slot",
    params = { ORDER, { "items", at = "body", check = "signature_items", required = true } },
    args = { "items" },
    answer = { success = "boolean", message = "string", updated = "integer" },
    model = "signature_change", command = "sign", text = "%d IPs updated",
    example = 'client:order(12345):set_signatures{ { ip = "203.0.113.7", signature = "win11" } }' },

  { name = "set_deletion", handle = "order", method = "POST", path = "/user/api/orders/{order_id}/del-np/set",
    class = "write",
    summary = "set the per-IP deletion (del-np) flags; the order's quantity and price follow",
    params = { ORDER, { "items", at = "body", check = "deletion_items", required = true } },
    args = { "items" }, answer = ack, model = "ack", asks = true,
    example = 'client:order(12345):set_deletion{ { ip = "203.0.113.7", value = true } }' },

  { name = "renew", handle = "order", method = "POST", path = "/user/api/orders/{id}/renew",
    class = "write", spends = true, price = "renewal", evidence = "renewal",
    summary = "renew an on-hold order, at an estimated price (the API quotes none)",
    params = { ORDER_AS_ID }, args = {}, answer = ack, model = "ack",
    example = 'client:order(12346):renew{ max_total = "25.00", reconcile = true }' },

  { name = "set_tag", handle = "order", method = "POST", path = "/user/api/orders/{id}/tag", class = "write",
    summary = "set the order's tag",
    params = { ORDER_AS_ID, { "tag", at = "body", check = "tag", required = true } },
    args = { "tag" }, answer = ack, model = "ack", example = 'client:order(12345):set_tag("scrapers")' },

  { name = "change_cycle", handle = "order", method = "POST",
    path = "/user/api/orders/change-billing-cycle/{order_id}", class = "write",
    summary = "switch the order to another billing cycle (a promo code that does not apply is dropped)",
    params = { ORDER, { "cycle", at = "body", check = "text", required = true } },
    args = { "cycle" },
    -- 1.1.0 answers with the prices; 1.0.0 with a free-form `order`
    answer = { success = "boolean", message = "string", order_id = "integer", original_price = "price",
      final_price = "price", discount_percent = "integer", order = { object = { order_id = "integer" } } },
    legacy = { "order" }, model = "cycle_change", example = 'client:order(12345):change_cycle("quarterly")' },

  { name = "set_auto_renewal", handle = "order", method = "POST",
    path = "/user/api/orders/edit-auto-renewal/{order_id}", class = "write",
    summary = "turn the order's auto-renewal on or off",
    params = { ORDER, { "enabled", wire = "auto_renewal", at = "query", check = "boolean", required = true } },
    args = { "enabled" }, answer = ack, model = "ack", example = "client:order(12345):set_auto_renewal(true)" },

  { name = "add_bandwidth", handle = "order", method = "POST", path = "/user/api/orders/{id}/add-bandwidth",
    class = "write", spends = true, price = "traffic", evidence = "traffic",
    summary = "buy extra traffic (GB) for a residential order, at an estimated price (the API quotes none)",
    params = { ORDER_AS_ID, { "gb", wire = "amount", at = "body", check = "gb", required = true },
      { "promo_code", at = "body", check = "text" } },
    args = { "gb" }, answer = ack, model = "ack",
    example = 'client:order(12400):add_bandwidth(5, { promo_code = "SAVE10", max_total = "20.00" })' },

  -- An add-on of an order
  { name = "quote", handle = "addon", method = "GET", path = "/user/api/orders/{order_id}/addons/calculate",
    class = "read", summary = "the price of more units of an add-on (nothing is bought)",
    params = { ORDER, { "addon_key", at = "query", check = "addon_key", required = true, bound = "addon" },
      { "add_qty", at = "query", check = "quantity", required = true } },
    args = { "add_qty" },
    answer = { success = "boolean", addon_key = "string", catalog_id = "integer", price_per_unit = "price",
      current_qty = "integer", add_qty = "integer", new_qty = "integer", add_total = "price" },
    model = "quote", example = 'client:order(12345):addon("p0f_slots"):quote(2)' },

  { name = "purchase", handle = "addon", method = "POST", path = "/user/api/orders/{order_id}/addons/purchase",
    class = "write", spends = true, price = "addon_quote", evidence = "addon",
    summary = "buy more units of an add-on, at the price of its quote; nothing above max_total",
    params = { ORDER, ADDON_KEY, { "add_qty", at = "body", check = "quantity", required = true } },
    args = { "add_qty" },
    answer = { success = "boolean", message = "string", addons_price_paid = "price",
      addons = { list = shapes.addon_line } },
    model = "receipt",
    example = 'client:order(12345):addon("p0f_slots"):purchase(2, { max_total = 100, reconcile = true })' },

  { name = "schedule_downgrade", handle = "addon", method = "POST",
    path = "/user/api/orders/{order_id}/addons/schedule", class = "write",
    summary = "lower the add-on's quantity at the next renewal",
    params = { ORDER, ADDON_KEY, { "action", at = "body", check = "text", required = true, value = "downgrade" },
      { "next_qty", at = "body", check = "quantity", required = true } },
    args = { "next_qty" },
    answer = { success = "boolean", message = "string", addons = { list = shapes.addon_line } },
    model = "schedule_change", example = 'client:order(12345):addon("p0f_slots"):schedule_downgrade(4)' },

  { name = "cancel_downgrade", handle = "addon", method = "POST",
    path = "/user/api/orders/{order_id}/addons/schedule/cancel", class = "write",
    summary = "drop the add-on's pending downgrade",
    params = { ORDER, ADDON_KEY }, args = {},
    answer = { success = "boolean", message = "string", addons = { list = shapes.addon_line } },
    model = "schedule_change", example = 'client:order(12345):addon("p0f_slots"):cancel_downgrade()' },

  -- Residential: a proxy type's account
  { name = "profile", handle = "residential", method = "GET", path = "/user/api/proxies/profile", class = "read",
    summary = "the owner's traffic (bytes) and proxy password for the proxy type",
    params = { PROXY_TYPE }, args = {},
    answer = { success = "boolean", data = "integer", data_remain = "integer", data_spent = "integer",
      proxy_password = "string" },
    model = "profile", example = 'client:residential("premium"):profile()' },

  { name = "sub_users", handle = "residential", method = "GET", path = "/user/api/proxies/sub-users",
    class = "read", summary = "one page of the proxy type's sub-users",
    params = { PROXY_TYPE, { "offset", at = "query", check = "offset" }, { "limit", at = "query", check = "limit" } },
    args = "table",
    answer = { success = "boolean", count = "integer", data = { list = shapes.sub_user } },
    all = { method = "all_sub_users", field = "sub_users",
      summary = "every sub-user of the proxy type, all pages read" },
    model = "sub_user_page", example = 'client:residential("premium"):sub_users{ limit = 50 }' },

  { name = "create_sub_user", handle = "residential", method = "POST", path = "/user/api/proxies/sub-user",
    class = "write", summary = "create a sub-user with `data` GB of the owner's traffic",
    params = { PROXY_TYPE, { "name", at = "body", check = "text", required = true },
      { "data", at = "body", check = "gb", required = true } },
    args = "table",
    answer = { success = "boolean", data = { list = shapes.sub_user_created } },
    model = "sub_user_info", example = 'client:residential("premium"):create_sub_user{ name = "team-a", data = 5 }' },

  { name = "countries", handle = "residential", method = "GET", path = "/user/api/proxies/countries",
    class = "read", summary = "the countries proxies of this type can target",
    params = { PROXY_TYPE }, args = {}, answer = paged(shapes.country), result = "results",
    model = "place", example = 'client:residential("premium"):countries()' },

  { name = "regions", handle = "residential", method = "GET", path = "/user/api/proxies/regions", class = "read",
    summary = "the regions of a country",
    params = { PROXY_TYPE, { "country", wire = "country_code", at = "query", check = "code", required = true } },
    args = { "country" }, answer = paged(shapes.region), result = "results",
    model = "place", example = 'client:residential("premium"):regions("DE")' },

  { name = "cities", handle = "residential", method = "GET", path = "/user/api/proxies/cities", class = "read",
    summary = "the cities of a region",
    params = { PROXY_TYPE, { "country", wire = "country_code", at = "query", check = "code", required = true },
      { "region", wire = "region_code", at = "query", check = "code", required = true } },
    args = { "country", "region" }, answer = paged(shapes.city), result = "results",
    model = "place", example = 'client:residential("premium"):cities("DE", "BE")' },

  { name = "isps", handle = "residential", method = "GET", path = "/user/api/proxies/isps", class = "read",
    summary = "the ISPs of a city (premium only; often none)",
    -- the document's enum for this one proxy_type is premium only
    params = { { "proxy_type", at = "query", check = "proxy_type", required = true, bound = "residential",
      enum = { "premium" } },
      { "country", wire = "country_code", at = "query", check = "code", required = true },
      { "region", wire = "region_code", at = "query", check = "code", required = true },
      { "city", wire = "city_code", at = "query", check = "code", required = true } },
    args = { "country", "region", "city" }, answer = paged(shapes.isp), result = "results",
    model = "place", example = 'client:residential("premium"):isps("DE", "BE", "berlin")' },

  -- Residential: one sub-user
  { name = "fetch", handle = "sub_user", method = "GET", path = "/user/api/proxies/sub-user/{user_id}",
    class = "read", summary = "the sub-user: name, proxy password, traffic",
    params = { USER_ID, PROXY_TYPE }, args = {},
    answer = { success = "boolean", data = { list = shapes.sub_user_detail } },
    model = "sub_user_info", command = "sub-user",
    example = 'client:residential("premium"):sub_user("u-1"):fetch()' },

  { name = "rename", handle = "sub_user", method = "PATCH", path = "/user/api/proxies/sub-user/{user_id}",
    class = "write", summary = "rename the sub-user",
    params = { USER_ID, PROXY_TYPE, { "name", at = "body", check = "text", required = true } },
    args = { "name" }, answer = ack, model = "ack", command = "rename-sub-user",
    example = 'client:residential("premium"):sub_user("u-1"):rename("team-b")' },

  -- the document gives DELETE no proxy_type; the handle knows it, but it is not sent
  { name = "delete", handle = "sub_user", method = "DELETE", path = "/user/api/proxies/sub-user/{user_id}",
    class = "write", summary = "delete the sub-user",
    params = { USER_ID }, args = {}, answer = ack, model = "ack", command = "delete-sub-user", asks = true,
    example = 'client:residential("premium"):sub_user("u-1"):delete()' },

  { name = "add_data", handle = "sub_user", method = "POST", path = "/user/api/proxies/sub-user/{user_id}/data/add",
    class = "write", summary = "move traffic (GB) from the owner to the sub-user",
    params = { USER_ID, PROXY_TYPE, DATA_GB }, args = { "gb" }, answer = ack, model = "ack",
    example = 'client:residential("premium"):sub_user("u-1"):add_data(2)' },

  { name = "subtract_data", handle = "sub_user", method = "POST",
    path = "/user/api/proxies/sub-user/{user_id}/data/subtract", class = "write",
    summary = "move traffic (GB) from the sub-user back to the owner",
    params = { USER_ID, PROXY_TYPE, DATA_GB }, args = { "gb" }, answer = ack, model = "ack",
    example = 'client:residential("premium"):sub_user("u-1"):subtract_data(1)' },

  { name = "reset_password", handle = "sub_user", method = "POST",
    path = "/user/api/proxies/sub-user/{user_id}/password", class = "write",
    summary = "give the sub-user a new proxy password (read it with fetch)",
    params = { USER_ID, PROXY_TYPE }, args = {}, answer = ack, model = "ack",
    example = 'client:residential("premium"):sub_user("u-1"):reset_password()' },
}

-- Parameters as tables with named fields: { name = ..., at = ..., ... }.
for _, row in ipairs(rows) do
  for i, p in ipairs(row.params) do
    local named = {}
    for k, v in pairs(p) do named[k] = v end
    named.name, named[1] = p[1] or p.name, nil
    named.wire = named.wire or named.name
    row.params[i] = named
  end
end

--- What every spending row takes besides the call options: the cap, the
-- reconciliation of a lost answer and its window, a hook that sees the
-- price before anything is sent (proxyshard.flows.spend), and the run's
-- lock and journal (proxyshard.jobs.lock, proxyshard.jobs.journal).
local SPEND_OPTIONS = { "max_total", "reconcile", "settle", "confirm", "lock", "lock_wait", "journal" }

--- The handles users hold, as a tree: each is made from its `parent` by
-- the method `maker` with one argument, `param`, checked by the validator
-- `check` and kept in the field `field`; the rows' `bound = "<name>"` is
-- that value. `var`, `made` and `summary` are how help() writes it,
-- `show` (a format, and the fields it prints) how tostring does.
-- `methods` are those written by hand: a flow (`flow`: the module whose
-- `run(handle, ...)` it is, or its function `fn`) or a method of the
-- handle's own module; help() describes them by `args` and `summary`.
-- The rows' methods and their `all` methods are not listed here.
local handles = {
  { name = "client", var = "client", class = "proxyshard.client",
    made = 'proxyshard.new{ token = os.getenv("PROXYSHARD_TOKEN") }',
    methods = {
      { name = "map", args = "list, fn [, { concurrency = n }]",
        summary = "fn(item) over a list, several at once; the results { value, err } in order" },
      { name = "close", args = "", summary = "release the connection (the client cannot be used afterwards)" },
      { name = "pending", args = "[opts]", flow = "proxyshard.flows.settle", fn = "pending",
        summary = "the journal's spends whose end is not known (a run that died, an unknown outcome)" },
      { name = "settle", args = "[opts]", flow = "proxyshard.flows.settle",
        summary = "find out how the journal's pending spends ended, by re-reading (never resending)" },
    } },
  { name = "order", var = "order", parent = "client", maker = "order", param = "order_id", check = "id",
    field = "id", class = "proxyshard.order", made = "client:order(order_id)",
    summary = "the handle of one order (no request is made)",
    show = { "proxyshard order %s", "id" },
    methods = {
      { name = "top_up_p0f", args = "free [, opts]", flow = "proxyshard.flows.top_up",
        summary = "make sure the order has `free` unused p0f slots: buys only the slots missing (opts: "
          .. "max_total, reconcile, settle, confirm)" },
    } },
  { name = "addon", var = "addon", parent = "order", maker = "addon", param = "addon_key", check = "addon_key",
    field = "key", class = "proxyshard.addon", made = 'order:addon("p0f_slots")',
    summary = 'the handle of one add-on of the order, e.g. "p0f_slots" (no request is made)',
    show = { "proxyshard add-on %s of order %s", "key", "order.id" } },
  { name = "residential", var = "res", parent = "client", maker = "residential", param = "proxy_type",
    check = "proxy_type", field = "proxy_type", class = "proxyshard.residential",
    made = 'client:residential("premium")',
    summary = 'the handle of a residential proxy type, "standart" or "premium" (no request is made)',
    show = { "proxyshard residential %s", "proxy_type" } },
  { name = "sub_user", var = "sub_user", parent = "residential", maker = "sub_user", param = "user_id",
    check = "user_id", field = "id", class = "proxyshard.sub_user_handle", made = 'res:sub_user("u-1")',
    summary = "the handle of one sub-user (no request is made)",
    show = { "proxyshard sub-user %s (%s)", "id", "residential.proxy_type" } },
}

local M = { rows = rows, by_handle = {}, handles = handles, handle = {}, SPEND_OPTIONS = SPEND_OPTIONS }

for _, h in ipairs(handles) do M.handle[h.name] = h end

-- A spending row takes the spending options.
for _, row in ipairs(rows) do
  if row.spends then row.options = SPEND_OPTIONS end
end

for _, row in ipairs(rows) do
  local list = M.by_handle[row.handle] or {}
  M.by_handle[row.handle] = list
  list[#list + 1] = row
  list[row.name] = row
end

--- The row of `handle`'s method `name`, or nil.
function M.find(handle, name)
  local list = M.by_handle[handle]
  return list and list[name]
end

return M
