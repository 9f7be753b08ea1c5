-- Every one of the 34 calls of the Lua API, for real: the client over
-- libcurl against the sandbox started as a process (bin/proxyshard-sandbox),
-- reset before each test. For each call: the value it returns (money in
-- cents, counts, strings), the request the sandbox saw (method, path, query,
-- body, from GET /_sandbox/requests), and one error path (a 4xx from the
-- sandbox, or an invalid_argument that sends nothing). Expected values come
-- from the sandbox's state (GET /_sandbox/state) or from relations between
-- calls (the wallet after a purchase is the wallet before minus the quote),
-- not from constants of the fixture.
local proxyshard = require "proxyshard"
local is_exact_integer = require "support.exact"
local cjson = require "cjson.safe"
local operations = require "proxyshard.operations"
local sandbox_process = require "support.sandbox_process"
-- the data the sandbox starts from (it is started without --fixture): for
-- what its state does not show, the places proxies can target
local fixture = require "proxyshard.sandbox.world.fixture"

local TOKEN = "sandbox-token"
-- Traffic: the calls take whole GB; the profile answers in bytes (the
-- document says so), and a GB is 2^30 of them, as proxyshard.model.profile
-- and the sandbox count; the sandbox's state keeps bytes throughout.
local GB_BYTES = 1024 * 1024 * 1024
-- The document gives a sub-user's data fields no unit; the sandbox answers
-- them in GB (what the calls take, and what proxyshard.model.sub_user_info
-- says): one unit of them is this many bytes.
local SUB_USER_UNIT = GB_BYTES

local sb, client
-- the `seq` of the last request before the test's own: `seen` reads the
-- requests after it (a reset starts the log again from 1)
local since = 0

---------------------------------------------------------------------------
-- What the sandbox saw

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function parse_query(raw)
  local q = {}
  for pair in (raw or ""):gmatch("[^&]+") do
    local k, v = pair:match("^([^=]*)=?(.*)$")
    q[unescape(k)] = unescape(v)
  end
  return q
end

local function decode_body(raw)
  if raw == nil or raw == "" or raw == cjson.null then return nil end
  local v = cjson.decode(raw)
  if v == nil then return "(not JSON) " .. raw end
  return v
end

--- From now on, `seen` shows only the requests made after this point (the
-- state is kept, unlike with a reset).
local function mark()
  local list = sb:requests()
  since = #list > 0 and list[#list].seq or 0
end

-- The API requests since the reset or the last mark, decoded: { method, path, query = {}, body, headers }.
local function seen()
  local out = {}
  for _, r in ipairs(sb:requests()) do
    if r.seq > since then
      out[#out + 1] = { method = r.method, path = r.path, query = parse_query(r.query), body = decode_body(r.body),
        headers = r.headers or {} }
    end
  end
  return out
end

local function show(list)
  local lines = {}
  for i, r in ipairs(list) do
    lines[i] = ("%s %s ?%s %s"):format(r.method, r.path, cjson.encode(r.query), r.body and cjson.encode(r.body) or "")
  end
  return table.concat(lines, "\n")
end

local function same_request(expected, r)
  assert.are.same({ method = expected.method, path = expected.path, query = expected.query or {},
    body = expected.body }, { method = r.method, path = r.path, query = r.query, body = r.body })
end

--- Exactly one request was made, and it is `expected` ({ method, path, query, body }).
local function sent(expected)
  local list = seen()
  assert(#list == 1, ("expected one request, the sandbox saw %d:\n%s"):format(#list, show(list)))
  same_request(expected, list[1])
  return list[1]
end

--- `r` went out as the document gives an operation without a body: none,
-- with a length of 0 (the API refuses a POST without one), no Content-Type.
local function no_body(r)
  assert.is_nil(r.body)
  assert.are.equal("0", r.headers["content-length"])
  assert.is_nil(r.headers["content-type"])
end

--- The last request to `method path` among several (a flow), checked against `expected`.
local function sent_among(expected)
  local list, found = seen(), nil
  for _, r in ipairs(list) do
    if r.method == expected.method and r.path == expected.path then found = r end
  end
  assert(found, ("no %s %s among:\n%s"):format(expected.method, expected.path, show(list)))
  same_request(expected, found)
  return found, list
end

local function sent_nothing()
  local list = seen()
  assert(#list == 0, "expected no request, the sandbox saw:\n" .. show(list))
end

--- `value, err` (a call's results, last so that both arrive) is an
-- invalid_argument about `argument` (any, when nil), and nothing was sent.
local function refused_before_sending(argument, value, err)
  assert.is_nil(value)
  assert.are.equal("invalid_argument", err and err.kind, tostring(err))
  if argument then assert.are.equal(argument, err.argument) end
  sent_nothing()
end

--- `value, err` is the sandbox's refusal: `kind` (default validation) with HTTP `status` (default 400).
local function refused_by_sandbox(value, err, status, kind)
  assert.is_nil(value)
  assert.are.equal(kind or "validation", err and err.kind, tostring(err))
  assert.are.equal(status or 400, err.status, tostring(err))
  assert.is_string(err.message)
  assert.are_not.equal("", err.message)
end

---------------------------------------------------------------------------
-- What the sandbox holds

-- cjson reads every number as a float: 12345.0 would print as such in a
-- path, so integral numbers are made integers again.
local function integers(v)
  if type(v) == "number" then return math.tointeger and math.tointeger(v) or v end
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do out[k] = integers(x) end
  return out
end

local function state() return integers(sb:state()) end

local function find(list, pred)
  for _, v in ipairs(list or {}) do
    if pred(v) then return v end
  end
  return nil
end

local function order_of(s, id)
  return find(s.orders, function(o) return o.order_id == id end)
end

local function line_of(order, key)
  return find(order.addons, function(l) return l.addon_key == key end)
end

local function signed(order)
  local n = 0
  for _, ip in ipairs(order.ips or {}) do
    if ip.signature ~= nil and ip.signature ~= cjson.null then n = n + 1 end
  end
  return n
end

local function unsigned_ips(order)
  local list = {}
  for _, ip in ipairs(order.ips or {}) do
    if ip.signature == nil or ip.signature == cjson.null then list[#list + 1] = ip.ip end
  end
  return list
end

local DC_ISP = { ["Datacenter Proxy"] = true, ["ISP Proxy"] = true }

--- An order of the state that `pred` accepts; fails naming `what` when there is none.
local function pick_order(what, pred)
  local o = find(state().orders, pred)
  assert(o, "the sandbox's state has no " .. what)
  return o
end

local function active_dc_order_with_slots()
  return pick_order("active Datacenter/ISP order with a p0f_slots add-on and an unsigned IP", function(o)
    local line = line_of(o, "p0f_slots")
    return o.status == "active" and DC_ISP[o.product_name] and line and line.qty > 0 and #unsigned_ips(o) > 0
  end)
end

local function residential_order()
  return pick_order("residential order (a product named \"… Residential …\")", function(o)
    return tostring(o.product_name):lower():find("residential", 1, true) ~= nil
  end)
end

--- Sets a fault rule that loses the answer of `method path` after the
-- sandbox has carried the request out (a charge made, the answer dropped).
local function lose_answer_after_commit(method, path)
  sb:fault { path = path, method = method, action = "drop", commit = true }
end

--- How many requests the fault rules have hit since the reset.
local function fault_hits()
  local n = 0
  for _, rule in ipairs(sb:control("GET", "/_sandbox/faults").spent or {}) do n = n + (rule.hits or 0) end
  return n
end

local function wallet_cents()
  return state().account.wallet_balance
end

local function ledger_total()
  local sum = 0
  for _, c in ipairs(integers(sb:ledger())) do sum = sum + (c.amount_cents or 0) end
  return sum
end

local function money_cents(m, what)
  assert(proxyshard.money.is(m), what .. " is not a money value: " .. tostring(m))
  return m.cents
end

-- A product of client:products() that can be bought as `pred` says.
local function product_where(pred)
  local products = assert(client:products())
  local p = find(products, pred)
  assert(p, "client:products() lists no such product")
  return p
end

local function dc_product()
  return product_where(function(p) return DC_ISP[p.name] and p.location and #p.cycles > 0 end)
end

local function new_order_params()
  local p = dc_product()
  return { product = p.name, location = p.location, cycle = p.cycles[1], quantity = 2 }
end

local function premium() return client:residential("premium") end

-- A sub-user of the proxy type: the first listed, or one made for the test.
local function some_sub_user(res)
  local page = assert(res:sub_users {})
  if page.sub_users[1] then return page.sub_users[1] end
  local info = assert(res:create_sub_user { name = "spec-user", data = 1 })
  return info
end

-- Which rows the tests have called: every request the sandbox saw, matched
-- to its row by method and path ({id}-like parameters are digits, any
-- other one a segment, as the sandbox routes).
local called = {}

local function row_key(row) return row.handle .. ":" .. row.name end

local ROW_PATTERNS = {}
for _, row in ipairs(operations.rows) do
  local pattern = "^" .. row.path:gsub("[%-%.]", "%%%0"):gsub("{([^}]+)}", function(wire)
    for _, p in ipairs(row.params) do
      if p.wire == wire and p.check == "id" then return "%d+" end
    end
    return "[^/]+"
  end) .. "$"
  ROW_PATTERNS[#ROW_PATTERNS + 1] = { row = row, pattern = pattern }
end

local function note_calls()
  for _, r in ipairs(sb:requests()) do
    for _, rp in ipairs(ROW_PATTERNS) do
      if rp.row.method == r.method and r.path:match(rp.pattern) then called[row_key(rp.row)] = true end
    end
  end
end

---------------------------------------------------------------------------

describe("the Lua API has a method for every operation row", function()
  it("on the handle each row names", function()
    local c = proxyshard.new { token = TOKEN, base_url = "http://127.0.0.1:1" }
    local order = c:order(1)
    local res = c:residential("premium")
    local handles = { client = c, order = order, addon = order:addon("p0f_slots"), residential = res,
      sub_user = res:sub_user("x") }
    local missing = {}
    for _, row in ipairs(operations.rows) do
      local h = handles[row.handle]
      if h == nil or type(h[row.name]) ~= "function" then
        missing[#missing + 1] = row.handle .. ":" .. row.name .. " (" .. row.method .. " " .. row.path .. ")"
      end
    end
    assert(#missing == 0, "no method for:\n" .. table.concat(missing, "\n"))
    assert.are.equal(34, #operations.rows)
    -- and the helpers on top of the rows
    assert.is_function(c.all_orders)
    assert.is_function(res.all_sub_users)
  end)
end)

describe("the 34 calls against the sandbox over HTTP", function()
  setup(function()
    sb = sandbox_process.start()
    client = proxyshard.new { token = TOKEN, base_url = sb.url, max_retries = 0, timeout = 10 }
  end)

  teardown(function()
    if client then client:close() end
    if sb then sb:stop() end
  end)

  before_each(function()
    sb:reset()
    since = 0
  end)

  after_each(function()
    note_calls()
  end)

  -------------------------------------------------------------------------
  describe("client:me", function()
    it("returns the account of the state, the wallet in cents", function()
      local s = state()
      local me = assert(client:me())
      assert.are.equal(s.account.email, me.email)
      assert.are.equal(s.account.wallet_balance, money_cents(me.wallet_balance, "wallet_balance"))
      local active = 0
      for _, o in ipairs(s.orders) do
        if o.status == "active" then active = active + 1 end
      end
      assert.are.equal(active, me.active_orders)
      local r = sent { method = "GET", path = "/user/api/me" }
      assert.are.equal("[redacted]", r.headers.authorization) -- the token was sent (the log hides it)
    end)

    it("error: a wrong token is the sandbox's 401 (auth)", function()
      local other = proxyshard.new { token = "not-the-token", base_url = sb.url, max_retries = 0 }
      local me, err = other:me()
      other:close()
      refused_by_sandbox(me, err, 401, "auth")
    end)
  end)

  describe("client:products", function()
    it("returns the products with their cycles", function()
      local products = assert(client:products())
      assert.is_true(#products > 0, "no products")
      for _, p in ipairs(products) do
        assert.is_string(p.name)
        assert.is_true(#p.cycles > 0, p.name .. " has no cycle")
        for _, c in ipairs(p.cycles) do assert.is_string(c) end
      end
      local s = state()
      assert(s.products, "the sandbox's state shows no products")
      -- each listed product and location is one of the state's, with its cycles
      for _, p in ipairs(products) do
        local known = find(s.products, function(x) return x.name == p.name end)
        assert(known, p.name .. " is not a product of the state")
        if p.location then
          assert(find(known.locations, function(l) return l == p.location end),
            p.name .. " is listed in " .. p.location .. ", not one of its locations")
        end
        local cycles = {}
        for i, c in ipairs(known.cycles) do cycles[i] = type(c) == "table" and c.name or c end
        assert.are.same(cycles, { table.unpack(p.cycles) })
      end
      -- and every product and location of the state is listed
      for _, x in ipairs(s.products) do
        for _, location in ipairs(x.locations or { false }) do
          assert(find(products, function(p) return p.name == x.name and (p.location or false) == location end),
            x.name .. (location and (" in " .. location) or "") .. " is not listed")
        end
      end
      -- every product of the orders is on sale
      for _, o in ipairs(s.orders) do
        assert(find(products, function(p) return p.name == o.product_name end),
          "order " .. o.order_id .. "'s product " .. o.product_name .. " is not listed")
      end
      sent { method = "GET", path = "/user/api/proxies/products" }
    end)

    it("error: an unknown option is refused, nothing sent", function()
      refused_before_sending("max_retrys", client:products { max_retrys = 1 })
    end)
  end)

  describe("client:available", function()
    it("returns the stock per country and product, amounts as counts", function()
      local stock = assert(client:available())
      assert.is_true(#stock > 0, "no stock")
      for _, item in ipairs(stock) do
        assert.is_string(item.country)
        assert.is_string(item.product)
        assert.is_true(is_exact_integer(item.amount))
        assert.is_true(item.amount >= 0)
      end
      local s = state()
      assert(s.stock, "the sandbox's state shows no stock")
      assert.are.equal(#s.stock, #stock)
      for i, item in ipairs(s.stock) do
        assert.are.same({ item.country, item.product, item.amount },
          { stock[i].country, stock[i].product, stock[i].amount })
      end
      sent { method = "GET", path = "/user/api/proxies/available-count" }
    end)

    it("error: options that are not a table are refused, nothing sent", function()
      refused_before_sending("opts", client:available("fast"))
    end)
  end)

  describe("client:quote_order", function()
    it("returns the price in cents, the add-ons priced from the catalog", function()
      local params = new_order_params()
      params.addons = { p0f_slots = 5 }
      mark()
      local q = assert(client:quote_order(params))
      local original = money_cents(q.original_price, "original_price")
      local final = money_cents(q.final_price, "final_price")
      local addons = money_cents(q.addons_price, "addons_price")
      assert.are.equal(final + addons, money_cents(q.total, "total"))
      assert.are.equal(q.total, q.total_with_addons)
      assert.are.equal(0, q.discount_percent) -- no promo code
      assert.are.equal(original, final)
      assert.is_true(final > 0)
      local unit = state().catalog.p0f_slots.price_per_unit[params.product]
      assert.are.equal(5 * unit, addons)
      sent { method = "GET", path = "/user/api/orders/calculate", query = { product = params.product,
        location = params.location, cycle = params.cycle, quantity = "2",
        addons_json = '[{"addon_key":"p0f_slots","qty":5}]' } }
    end)

    it("scales with the quantity", function()
      local params = new_order_params()
      params.quantity = 1
      local one = assert(client:quote_order(params))
      params.quantity = 3
      local three = assert(client:quote_order(params))
      assert.are.equal(3 * one.original_price.cents, three.original_price.cents)
    end)

    it("error: an unknown product is the sandbox's 400", function()
      local q, err = client:quote_order { product = "No Such Proxy", quantity = 1 }
      refused_by_sandbox(q, err)
      sent { method = "GET", path = "/user/api/orders/calculate", query = { product = "No Such Proxy",
        quantity = "1" } }
    end)

    it("error: without a product, nothing is sent", function()
      refused_before_sending("product", client:quote_order { quantity = 1 })
    end)
  end)

  describe("client:purchase_order", function()
    it("buys at the quoted total: wallet before − quote = wallet after, a new order", function()
      local params = new_order_params()
      local quote = assert(client:quote_order(params))
      local before, orders_before, charged_before = wallet_cents(), #state().orders, ledger_total()
      mark()
      local receipt = assert(client:purchase_order(params, { max_total = quote.total }))
      assert.is_true(is_exact_integer(receipt.order_id))
      assert.are.equal(before - quote.total.cents, wallet_cents())
      assert.are.equal(quote.total.cents, ledger_total() - charged_before)
      local s = state()
      assert.are.equal(orders_before + 1, #s.orders)
      local new = order_of(s, receipt.order_id)
      assert(new, "the new order " .. receipt.order_id .. " is not in the state")
      assert.are.equal(params.product, new.product_name)
      -- the quote under the cap, then the purchase
      local _, list = sent_among { method = "POST", path = "/user/api/orders/purchase", body = {
        product = params.product, location = params.location, cycle = params.cycle, quantity = 2 } }
      assert.are.equal("GET", list[1].method)
      assert.are.equal("/user/api/orders/calculate", list[1].path)
      assert.are.equal(2, #list)
      -- the receipt's handle reads the new order
      local info = assert(receipt:order():fetch())
      assert.are.equal(receipt.order_id, info.order_id)
      assert.are.equal(params.product, info.product_name)
      assert.are.equal(params.cycle, info.cycle_name)
    end)

    it("with reconcile, an answer lost after the charge is found in the order list, charged once", function()
      local params = new_order_params()
      local quote = assert(client:quote_order(params))
      local before, orders_before = wallet_cents(), #state().orders
      lose_answer_after_commit("POST", "/user/api/orders/purchase")
      local receipt = assert(client:purchase_order(params, { reconcile = true, settle = 2 }))
      assert.are.equal(1, fault_hits()) -- the answer was lost
      local s = state()
      assert.are.equal(orders_before + 1, #s.orders)
      assert.are.equal(params.product, order_of(s, receipt.order_id).product_name)
      assert.are.equal(before - quote.total.cents, wallet_cents())
      assert.are.equal(1, #sb:ledger())
      local posts = 0
      for _, r in ipairs(seen()) do
        if r.method == "POST" then posts = posts + 1 end
      end
      assert.are.equal(1, posts) -- never sent again
    end)

    it("error: a cap one cent below the quote buys nothing (budget), only the quote is sent", function()
      local params = new_order_params()
      local quote = assert(client:quote_order(params))
      mark()
      local before = wallet_cents()
      local receipt, err = client:purchase_order(params, { max_total = quote.total.cents - 1 })
      assert.is_nil(receipt)
      assert.are.equal("budget", err.kind)
      assert.are.equal(before, wallet_cents())
      local list = seen()
      assert.are.equal(1, #list, show(list))
      assert.are.equal("/user/api/orders/calculate", list[1].path)
    end)

    it("error: more than the wallet holds is the sandbox's 400, nothing charged", function()
      local params = new_order_params()
      params.quantity = 1
      local one = assert(client:quote_order(params)).total.cents
      local before = wallet_cents()
      -- one IP more than the wallet pays for, within the stock
      params.quantity = math.floor(before / one) + 1
      local stock = find(state().stock, function(x)
        return x.country == params.location and x.product == params.product
      end)
      assert(stock and stock.amount >= params.quantity, "the stock is too small for this test")
      local receipt, err = client:purchase_order(params)
      refused_by_sandbox(receipt, err)
      assert.truthy(err.message:lower():find("balance", 1, true), err.message)
      assert.are.equal(before, wallet_cents())
      assert.are.equal(0, ledger_total())
    end)
  end)

  describe("client:orders and client:all_orders", function()
    it("returns a page of the orders with the status", function()
      local s = state()
      local active = {}
      for _, o in ipairs(s.orders) do
        if o.status == "active" then active[#active + 1] = o.order_id end
      end
      local page = assert(client:orders { status = "active" })
      local ids = {}
      for i, o in ipairs(page.orders) do ids[i] = o.order_id end
      table.sort(ids)
      table.sort(active)
      assert.are.same(active, ids)
      assert.are.equal(#active, page.count)
      assert.is_nil(page.next_offset)
      for _, o in ipairs(page.orders) do
        local in_state = order_of(s, o.order_id)
        assert.are.equal(in_state.product_name, o.product_name)
        assert.are.equal(in_state.cycle_name, o.cycle_name)
      end
      sent { method = "GET", path = "/user/api/orders", query = { status = "active" } }
    end)

    it("pages with offset and limit; all_orders reads every page", function()
      local total = #state().orders
      assert.is_true(total >= 2, "the state needs two orders to page")
      local page = assert(client:orders { status = "all", offset = 0, limit = 1 })
      assert.are.equal(1, #page.orders)
      assert.are.equal(1, page.next_offset)
      sent { method = "GET", path = "/user/api/orders", query = { status = "all", offset = "0", limit = "1" } }
      mark()
      local all = assert(client:all_orders { status = "all" })
      assert.are.equal(total, #all)
      local seen_ids = {}
      for _, o in ipairs(all) do
        assert.is_nil(seen_ids[o.order_id], "order " .. o.order_id .. " twice")
        seen_ids[o.order_id] = true
      end
      assert.are.same({ status = "all", offset = "0", limit = "100" }, seen()[1].query)
    end)

    it("error: an unknown status is refused, nothing sent", function()
      refused_before_sending("status", client:orders { status = "paused" })
    end)
  end)

  describe("client:health and client:live", function()
    it("return true, and send no token", function()
      assert.is_true(client:health())
      local r = sent { method = "GET", path = "/health" }
      assert.is_nil(r.headers.authorization)
      mark()
      assert.is_true(client:live())
      r = sent { method = "GET", path = "/health/live" }
      assert.is_nil(r.headers.authorization)
    end)

    it("error: a 503 is nil, err", function()
      sb:fault { path = "/health", status = 503, body = '{"success":false,"message":"down"}' }
      local up, err = client:health()
      assert.is_nil(up)
      assert.are.equal("server", err.kind)
      assert.are.equal(503, err.status)
      sb:fault { path = "/health/live", status = 503, body = '{"success":false,"message":"down"}' }
      local alive, lerr = client:live()
      assert.is_nil(alive)
      assert.are.equal(503, lerr.status)
    end)
  end)

  -------------------------------------------------------------------------
  describe("order:fetch", function()
    it("returns the order of the state, money in cents", function()
      local o = active_dc_order_with_slots()
      local info = assert(client:order(o.order_id):fetch())
      assert.are.equal(o.order_id, info.order_id)
      assert.are.equal(o.product_name, info.product_name)
      assert.are.equal(o.cycle_name, info.cycle_name)
      assert.are.equal(o.status, info.status)
      assert.are.equal(o.quantity, info.quantity)
      assert.are.equal(o.price_paid, money_cents(info.price_paid, "price_paid"))
      assert.are.equal(o.addons_price_paid, money_cents(info.addons_price_paid, "addons_price_paid"))
      assert.are.equal(line_of(o, "p0f_slots").qty, info.p0f_slots_available)
      assert.are.equal(signed(o), info.p0f_slots_used)
      assert.are.equal(#o.addons, #info.addons)
      sent { method = "GET", path = "/user/api/orders/" .. o.order_id }
    end)

    it("error: an order the sandbox does not have is its 404", function()
      local info, err = client:order(99999999):fetch()
      refused_by_sandbox(info, err, 404, "not_found")
    end)

    it("error: a bad id is refused, nothing sent", function()
      refused_before_sending("order_id", client:order("12x"):fetch())
    end)
  end)

  describe("order:proxies", function()
    it("returns the order's IPs with their credentials, and the tag", function()
      local o = active_dc_order_with_slots()
      local list, tag = client:order(o.order_id):proxies()
      assert(list, tag)
      assert.are.equal(#o.ips, #list)
      for i, ip in ipairs(o.ips) do
        assert.are.equal(ip.ip, list[i].ip)
        assert.are.equal(ip.username, list[i].username)
        assert.are.equal(ip.password, list[i].password)
        assert.are.equal(ip.http_port, list[i].http_port)
        assert.are.equal(ip.socks_port, list[i].socks_port)
        assert.are.equal(ip.signature, list[i].signature)
      end
      assert.are.equal(o.tag, tag)
      sent { method = "GET", path = "/user/api/proxies/active", query = { order_id = tostring(o.order_id) } }
    end)

    it("error: an order the sandbox does not have is its 404", function()
      local list, err = client:order(99999999):proxies()
      refused_by_sandbox(list, err, 404, "not_found")
    end)
  end)

  describe("order:set_signatures", function()
    it("signs an unsigned IP, which takes a slot", function()
      local o = active_dc_order_with_slots()
      local ip = unsigned_ips(o)[1]
      local updated = assert(client:order(o.order_id):set_signatures { { ip = ip, signature = "win11" } })
      assert.are.equal(1, updated)
      local after = order_of(state(), o.order_id)
      assert.are.equal("win11", find(after.ips, function(x) return x.ip == ip end).signature)
      assert.are.equal(signed(o) + 1, signed(after))
      sent { method = "POST", path = "/user/api/orders/" .. o.order_id .. "/signature/set",
        body = { items = { { ip = ip, signature = "win11" } } } }
    end)

    it("error: more new IPs than free slots is the sandbox's 400, nothing signed", function()
      local o = pick_order("order with more unsigned IPs than free p0f slots", function(x)
        local line = line_of(x, "p0f_slots")
        return x.status == "active" and line and #unsigned_ips(x) > line.qty - signed(x)
      end)
      local free = line_of(o, "p0f_slots").qty - signed(o)
      local items = {}
      for i = 1, free + 1 do items[i] = { ip = unsigned_ips(o)[i], signature = "linux" } end
      local updated, err = client:order(o.order_id):set_signatures(items)
      refused_by_sandbox(updated, err)
      assert.are.equal(signed(o), signed(order_of(state(), o.order_id)))
    end)

    it("error: an unknown signature is refused, nothing sent", function()
      local o = active_dc_order_with_slots()
      refused_before_sending("items[1].signature",
        client:order(o.order_id):set_signatures { { ip = unsigned_ips(o)[1], signature = "beos" } })
    end)
  end)

  describe("order:set_deletion", function()
    it("flags an IP for deletion", function()
      local o = pick_order("active Datacenter/ISP order with two IPs or more", function(x)
        return x.status == "active" and DC_ISP[x.product_name] and #x.ips >= 2
      end)
      local ip = o.ips[1].ip
      local ack = assert(client:order(o.order_id):set_deletion { { ip = ip, value = true } })
      assert.are.equal("set_deletion", ack.operation)
      assert.is_string(ack.message)
      sent { method = "POST", path = "/user/api/orders/" .. o.order_id .. "/del-np/set",
        body = { items = { { ip = ip, value = true } } } }
      -- the order's quantity and price follow the flags
      local info = assert(client:order(o.order_id):fetch())
      assert.are.equal(o.quantity - 1, info.quantity)
      assert.is_true(info.price_paid.cents < o.price_paid, "price_paid did not follow the deletion")
    end)

    it("error: an IP not of the order is the sandbox's 400", function()
      local o = active_dc_order_with_slots()
      local ack, err = client:order(o.order_id):set_deletion { { ip = "192.0.2.250", value = true } }
      refused_by_sandbox(ack, err)
    end)

    it("error: a value that is not a boolean is refused, nothing sent", function()
      refused_before_sending("items[1].value", client:order(1):set_deletion { { ip = "192.0.2.1", value = "yes" } })
    end)
  end)

  describe("order:renew", function()
    it("renews an on-hold order: it becomes active, the wallet is charged what the ledger says", function()
      local o = pick_order("on-hold order", function(x) return x.status == "on-hold" end)
      local before = wallet_cents()
      local ack = assert(client:order(o.order_id):renew())
      assert.are.equal("renew", ack.operation)
      local after = order_of(state(), o.order_id)
      assert.are.equal("active", after.status)
      assert.is_true(after.expires_at > o.expires_at, "the expiry did not move: " .. tostring(after.expires_at))
      local charged = before - wallet_cents()
      assert.is_true(charged > 0, "renewing charged nothing")
      assert.are.equal(charged, ledger_total())
      -- priced (estimated) first, and what it charged seen on the order afterwards
      assert.are.equal(charged, ack.estimated.cents)
      assert.are.equal(charged, ack.charged.cents)
      local r = sent_among { method = "POST", path = "/user/api/orders/" .. o.order_id .. "/renew" }
      no_body(r)
      local paths = {}
      for _, x in ipairs(seen()) do paths[#paths + 1] = x.method .. " " .. x.path end
      local order_path = "GET /user/api/orders/" .. o.order_id
      assert.are.same({ order_path, "GET /user/api/orders/calculate", order_path, "POST " .. r.path, order_path },
        paths)
    end)

    it("with reconcile, an answer lost after the charge is confirmed by re-reading the order", function()
      local o = pick_order("on-hold order", function(x) return x.status == "on-hold" end)
      local before = wallet_cents()
      lose_answer_after_commit("POST", "/user/api/orders/" .. o.order_id .. "/renew")
      local ack = assert(client:order(o.order_id):renew { reconcile = true, settle = 2 })
      assert.are.equal(1, fault_hits())
      assert.are.equal("renew", ack.operation)
      assert.are.equal("active", order_of(state(), o.order_id).status)
      assert.are.equal(1, #sb:ledger())
      assert.are.equal(before - ledger_total(), wallet_cents())
    end)

    it("error: an active order is not renewed (the sandbox's 400), nothing charged", function()
      local o = pick_order("active order", function(x) return x.status == "active" end)
      local before = wallet_cents()
      local ack, err = client:order(o.order_id):renew()
      refused_by_sandbox(ack, err)
      assert.are.equal(before, wallet_cents())
      assert.are.equal(o.expires_at, order_of(state(), o.order_id).expires_at)
    end)
  end)

  describe("order:set_tag", function()
    it("sets the tag that fetch and proxies show", function()
      local o = active_dc_order_with_slots()
      local order = client:order(o.order_id)
      local ack = assert(order:set_tag("scrapers"))
      assert.are.equal("set_tag", ack.operation)
      sent { method = "POST", path = "/user/api/orders/" .. o.order_id .. "/tag", body = { tag = "scrapers" } }
      assert.are.equal("scrapers", assert(order:fetch()).tag)
      local _, tag = order:proxies()
      assert.are.equal("scrapers", tag)
    end)

    it("error: a tag with a control character is refused, nothing sent", function()
      refused_before_sending("tag", client:order(1):set_tag("a\nb"))
    end)
  end)

  describe("order:change_cycle", function()
    it("switches to another cycle of the product, with the new prices in cents", function()
      local products = assert(client:products())
      local o, cycle
      for _, x in ipairs(state().orders) do
        local p = find(products, function(pp) return pp.name == x.product_name end)
        local other = p and find(p.cycles, function(c) return c ~= x.cycle_name end)
        if x.status == "active" and other then o, cycle = x, other break end
      end
      assert(o, "no active order whose product has a second cycle")
      mark()
      local change = assert(client:order(o.order_id):change_cycle(cycle))
      assert.are.equal(o.order_id, change.order_id)
      assert.are.equal(cycle, change.cycle)
      money_cents(change.final_price, "final_price")
      money_cents(change.original_price, "original_price")
      sent { method = "POST", path = "/user/api/orders/change-billing-cycle/" .. o.order_id, body = { cycle = cycle } }
      assert.are.equal(cycle, order_of(state(), o.order_id).cycle_name)
    end)

    it("error: a cycle the product does not have is the sandbox's 400", function()
      local o = active_dc_order_with_slots()
      local change, err = client:order(o.order_id):change_cycle("fortnightly")
      refused_by_sandbox(change, err)
      assert.are.equal(o.cycle_name, order_of(state(), o.order_id).cycle_name)
    end)
  end)

  describe("order:set_auto_renewal", function()
    it("turns auto-renewal off and on: a query parameter and no body", function()
      local o = pick_order("active Datacenter/ISP order", function(x)
        return x.status == "active" and DC_ISP[x.product_name]
      end)
      local wanted = not o.auto_renewal
      local ack = assert(client:order(o.order_id):set_auto_renewal(wanted))
      assert.are.equal("set_auto_renewal", ack.operation)
      no_body(sent { method = "POST", path = "/user/api/orders/edit-auto-renewal/" .. o.order_id,
        query = { auto_renewal = tostring(wanted) } })
      assert.are.equal(wanted, order_of(state(), o.order_id).auto_renewal)
    end)

    it("error: a value that is not a boolean is refused, nothing sent", function()
      refused_before_sending("enabled", client:order(1):set_auto_renewal("yes"))
    end)
  end)

  describe("order:add_bandwidth", function()
    it("buys GB for a residential order: the owner's traffic grows, the wallet pays what the ledger says", function()
      local o = residential_order()
      local res = client:residential(o.product_name:match("^(%a+)"):lower()) -- "Premium Residential Proxy"
      local traffic = assert(res:profile())
      mark()
      local before = wallet_cents()
      local ack = assert(client:order(o.order_id):add_bandwidth(5))
      assert.are.equal("add_bandwidth", ack.operation)
      sent_among { method = "POST", path = "/user/api/orders/" .. o.order_id .. "/add-bandwidth",
        body = { amount = 5 } }
      local charged = before - wallet_cents()
      assert.is_true(charged > 0, "5 GB cost nothing")
      assert.are.equal(charged, ledger_total())
      assert.are.equal(charged, ack.estimated.cents)
      assert.are.equal(charged, ack.charged.cents)
      local now = assert(res:profile())
      assert.are.equal(traffic.data_bytes + 5 * GB_BYTES, now.data_bytes)
      assert.are.equal(traffic.data_remain_bytes + 5 * GB_BYTES, now.data_remain_bytes)
    end)

    it("sends the promo code given in the options", function()
      local o = residential_order()
      local _, err = client:order(o.order_id):add_bandwidth(1, { promo_code = "SAVE10" })
      -- the sandbox may know the code or refuse it; the request is what is checked
      assert(err == nil or err.kind == "validation", tostring(err))
      sent_among { method = "POST", path = "/user/api/orders/" .. o.order_id .. "/add-bandwidth",
        body = { amount = 1, promo_code = "SAVE10" } }
    end)

    it("error: a Datacenter order is the sandbox's 400, nothing charged", function()
      local o = active_dc_order_with_slots()
      local ack, err = client:order(o.order_id):add_bandwidth(5)
      refused_by_sandbox(ack, err)
      assert.are.equal(0, ledger_total())
    end)

    it("error: 0 GB is refused, nothing sent", function()
      refused_before_sending("gb", client:order(1):add_bandwidth(0))
    end)
  end)

  -------------------------------------------------------------------------
  describe("addon:quote", function()
    it("prices more units from the catalog: total = n × unit price", function()
      local o = active_dc_order_with_slots()
      local unit = state().catalog.p0f_slots.price_per_unit[o.product_name]
      local q = assert(client:order(o.order_id):addon("p0f_slots"):quote(2))
      assert.are.equal(unit, money_cents(q.price_per_unit, "price_per_unit"))
      assert.are.equal(2 * unit, money_cents(q.total, "total"))
      assert.are.equal(line_of(o, "p0f_slots").qty, q.current_qty)
      assert.are.equal(2, q.add_qty)
      assert.are.equal(q.current_qty + 2, q.new_qty)
      sent { method = "GET", path = "/user/api/orders/" .. o.order_id .. "/addons/calculate",
        query = { addon_key = "p0f_slots", add_qty = "2" } }
    end)

    it("error: an add-on the catalog does not have is the sandbox's 400", function()
      local o = active_dc_order_with_slots()
      local q, err = client:order(o.order_id):addon("no_such_addon"):quote(1)
      refused_by_sandbox(q, err)
    end)

    it("error: 0 units are refused, nothing sent", function()
      refused_before_sending("add_qty", client:order(1):addon("p0f_slots"):quote(0))
    end)
  end)

  describe("addon:purchase", function()
    it("buys at the quote under the cap: the wallet pays the quote, the line grows", function()
      local o = active_dc_order_with_slots()
      local addon = client:order(o.order_id):addon("p0f_slots")
      local quote = assert(addon:quote(2))
      mark()
      local before = wallet_cents()
      local receipt = assert(addon:purchase(2, { max_total = quote.total }))
      assert.are.equal(before - quote.total.cents, wallet_cents())
      assert.are.equal(quote.total.cents, ledger_total())
      assert.are.equal(o.addons_price_paid + quote.total.cents, money_cents(receipt.addons_price_paid,
        "addons_price_paid"))
      assert.are.equal(line_of(o, "p0f_slots").qty + 2, line_of(order_of(state(), o.order_id), "p0f_slots").qty)
      sent_among { method = "POST", path = "/user/api/orders/" .. o.order_id .. "/addons/purchase",
        body = { addon_key = "p0f_slots", add_qty = 2 } }
    end)

    it("with reconcile, an answer lost after the charge is confirmed by the order's add-on line", function()
      local o = active_dc_order_with_slots()
      local addon = client:order(o.order_id):addon("p0f_slots")
      local quote = assert(addon:quote(1))
      local before = wallet_cents()
      lose_answer_after_commit("POST", "/user/api/orders/" .. o.order_id .. "/addons/purchase")
      local receipt = assert(addon:purchase(1, { max_total = quote.total, reconcile = true, settle = 2 }))
      assert.are.equal(1, fault_hits())
      assert.is_true(receipt.reconciled)
      assert.are.equal(line_of(o, "p0f_slots").qty + 1, line_of(order_of(state(), o.order_id), "p0f_slots").qty)
      assert.are.equal(before - quote.total.cents, wallet_cents())
      assert.are.equal(1, #sb:ledger())
    end)

    it("error: a cap below the quote buys nothing (budget)", function()
      local o = active_dc_order_with_slots()
      local addon = client:order(o.order_id):addon("p0f_slots")
      local receipt, err = addon:purchase(2, { max_total = 1 })
      assert.is_nil(receipt)
      assert.are.equal("budget", err.kind)
      assert.are.equal(0, ledger_total())
      local list = seen()
      assert.are.equal(1, #list, show(list))
      assert.are.equal("GET", list[1].method)
    end)
  end)

  describe("addon:schedule_downgrade", function()
    it("sets a pending downgrade that fetch shows", function()
      local o = pick_order("active order with 2 or more p0f slots", function(x)
        local line = line_of(x, "p0f_slots")
        return x.status == "active" and line and line.qty >= 2
      end)
      local next_qty = line_of(o, "p0f_slots").qty - 1
      local change = assert(client:order(o.order_id):addon("p0f_slots"):schedule_downgrade(next_qty))
      local line = find(change.addons, function(l) return l.addon_key == "p0f_slots" end)
      assert.are.same({ action = "downgrade", next_qty = next_qty }, { action = line.pending.action,
        next_qty = line.pending.next_qty })
      sent { method = "POST", path = "/user/api/orders/" .. o.order_id .. "/addons/schedule",
        body = { addon_key = "p0f_slots", action = "downgrade", next_qty = next_qty } }
      assert.are.equal(next_qty, assert(client:order(o.order_id):fetch()).p0f_slots_next)
    end)

    it("error: a downgrade to the current quantity is the sandbox's 400", function()
      local o = active_dc_order_with_slots()
      local change, err = client:order(o.order_id):addon("p0f_slots"):schedule_downgrade(line_of(o, "p0f_slots").qty)
      refused_by_sandbox(change, err)
    end)
  end)

  describe("addon:cancel_downgrade", function()
    it("drops the pending downgrade", function()
      local o = pick_order("active order with 2 or more p0f slots", function(x)
        local line = line_of(x, "p0f_slots")
        return x.status == "active" and line and line.qty >= 2
      end)
      local addon = client:order(o.order_id):addon("p0f_slots")
      assert(addon:schedule_downgrade(line_of(o, "p0f_slots").qty - 1))
      mark()
      local change = assert(addon:cancel_downgrade())
      local line = find(change.addons, function(l) return l.addon_key == "p0f_slots" end)
      assert.is_nil(line.pending)
      sent_among { method = "POST", path = "/user/api/orders/" .. o.order_id .. "/addons/schedule/cancel",
        body = { addon_key = "p0f_slots" } }
      assert.are.equal(line_of(o, "p0f_slots").qty, assert(addon.order:fetch()).p0f_slots_next)
    end)

    it("error: an order without the add-on is the sandbox's 400", function()
      local o = pick_order("active Datacenter/ISP order without add-ons", function(x)
        return x.status == "active" and DC_ISP[x.product_name] and line_of(x, "p0f_slots") == nil
      end)
      local change, err = client:order(o.order_id):addon("p0f_slots"):cancel_downgrade()
      refused_by_sandbox(change, err)
    end)
  end)

  -------------------------------------------------------------------------
  describe("res:profile", function()
    it("returns the owner's traffic in bytes, and sends the API's spelling of the type", function()
      local p = assert(premium():profile())
      for _, field in ipairs { "data_bytes", "data_remain_bytes", "data_spent_bytes" } do
        assert.is_true(is_exact_integer(p[field]), field)
      end
      assert.are.equal(p.data_bytes, p.data_remain_bytes + p.data_spent_bytes)
      local owner = state().residential.premium
      assert.are.equal(owner.data, p.data_bytes)
      assert.are.equal(owner.data_spent, p.data_spent_bytes)
      assert.are.equal(owner.proxy_password, p.proxy_password)
      assert.are.equal("premium", p.proxy_type)
      sent { method = "GET", path = "/user/api/proxies/profile", query = { proxy_type = "premium" } }
      mark()
      assert(client:residential("standard"):profile())
      sent { method = "GET", path = "/user/api/proxies/profile", query = { proxy_type = "standart" } }
    end)

    it("error: an unknown proxy type is refused, nothing sent", function()
      local res, err = client:residential("gold")
      assert.are.equal("invalid_argument", err.kind)
      refused_before_sending("proxy_type", res:profile())
    end)
  end)

  describe("res:sub_users and res:all_sub_users", function()
    it("returns the state's sub-users of the type", function()
      local in_state = state().residential.premium.sub_users
      local page = assert(premium():sub_users {})
      assert.are.equal(#in_state, page.count)
      assert.are.equal(#in_state, #page.sub_users)
      for i, u in ipairs(in_state) do
        local got = page.sub_users[i]
        assert.are.same({ u.user_id, u.first_name, u.proxy_password, u.data, u.data_spent },
          { got.user_id, got.first_name, got.proxy_password, got.data * SUB_USER_UNIT,
            got.data_spent * SUB_USER_UNIT })
        assert.are.equal(u.data - u.data_spent, got.data_remain * SUB_USER_UNIT)
      end
      assert.is_nil(page.next_offset)
      sent { method = "GET", path = "/user/api/proxies/sub-users", query = { proxy_type = "premium" } }
    end)

    it("returns a page of sub-users with the count of all; all_sub_users reads every page", function()
      local res = premium()
      assert(res:create_sub_user { name = "page-a", data = 1 })
      assert(res:create_sub_user { name = "page-b", data = 1 })
      local everyone = assert(res:sub_users {})
      local total = everyone.count
      assert.is_true(total >= 2)
      mark()
      local page = assert(res:sub_users { offset = 0, limit = 1 })
      assert.are.equal(1, #page.sub_users)
      assert.are.equal(total, page.count)
      assert.are.equal(1, page.next_offset)
      assert.is_string(page.sub_users[1].user_id)
      sent { method = "GET", path = "/user/api/proxies/sub-users",
        query = { proxy_type = "premium", offset = "0", limit = "1" } }
      local all = assert(res:all_sub_users())
      assert.are.equal(total, #all)
    end)

    it("error: a limit above 100 is refused, nothing sent", function()
      refused_before_sending("limit", premium():sub_users { limit = 101 })
    end)
  end)

  describe("res:create_sub_user", function()
    it("makes a sub-user with GB of the owner's traffic, moved from the owner", function()
      local res = premium()
      local owner = assert(res:profile())
      local count = assert(res:sub_users {}).count
      mark()
      local info = assert(res:create_sub_user { name = "team-a", data = 2 })
      assert.is_string(info.user_id)
      assert.are.equal("team-a", info.first_name)
      assert.are.equal(0, info.data_spent)
      assert.is_string(info.proxy_password)
      sent_among { method = "POST", path = "/user/api/proxies/sub-user", query = { proxy_type = "premium" },
        body = { name = "team-a", data = 2 } }
      assert.are.equal(count + 1, assert(res:sub_users {}).count)
      local after = assert(res:profile())
      assert.are.equal(owner.data_remain_bytes - 2 * GB_BYTES, after.data_remain_bytes)
      assert.are.equal(2 * GB_BYTES, info.data * SUB_USER_UNIT) -- what the owner gave
      -- the handle of the new sub-user reads it
      assert.are.equal("team-a", assert(info:handle():fetch()).first_name)
    end)

    it("error: more GB than the owner has is the sandbox's 400", function()
      local res = premium()
      local owner = assert(res:profile())
      mark()
      local gb = math.floor(owner.data_remain_bytes / GB_BYTES) + 1
      local info, err = res:create_sub_user { name = "too-big", data = gb }
      refused_by_sandbox(info, err)
    end)

    it("error: without a name, nothing is sent", function()
      refused_before_sending("name", premium():create_sub_user { data = 1 })
    end)
  end)

  describe("res:countries, res:regions, res:cities, res:isps", function()
    -- { {code, name}, ... } of places, to compare lists
    local function places(list)
      local out = {}
      for i, p in ipairs(list or {}) do out[i] = { p.code, p.name } end
      return out
    end

    it("send the wire names; each place lies within the one asked for", function()
      local res = premium()
      local countries = assert(res:countries())
      assert.is_true(#countries > 0, "no countries")
      sent { method = "GET", path = "/user/api/proxies/countries", query = { proxy_type = "premium" } }
      local country = countries[1]

      mark()
      local regions = assert(res:regions(country.code))
      assert.is_true(#regions > 0, "no regions in " .. country.code)
      for _, r in ipairs(regions) do assert.are.same(places { country }, places { r.country }) end
      sent { method = "GET", path = "/user/api/proxies/regions",
        query = { proxy_type = "premium", country_code = country.code } }
      local region = regions[1]

      mark()
      local cities = assert(res:cities(country.code, region.code))
      assert.is_true(#cities > 0, "no cities in " .. country.code .. "/" .. region.code)
      for _, c in ipairs(cities) do
        assert.are.same(places { country, region }, places { c.country, c.region })
      end
      sent { method = "GET", path = "/user/api/proxies/cities",
        query = { proxy_type = "premium", country_code = country.code, region_code = region.code } }
      local city = cities[1]

      mark()
      local isps = assert(res:isps(country.code, region.code, city.code))
      for _, isp in ipairs(isps) do assert.are.same(places { country }, places { isp.country }) end
      sent { method = "GET", path = "/user/api/proxies/isps", query = { proxy_type = "premium",
        country_code = country.code, region_code = region.code, city_code = city.code } }
    end)

    it("list every place of the fixture, and its ISPs for premium", function()
      local res = premium()
      assert.are.same(places(fixture.locations), places(assert(res:countries())))
      for _, c in ipairs(fixture.locations) do
        assert.are.same(places(c.regions), places(assert(res:regions(c.code))))
        for _, r in ipairs(c.regions) do
          assert.are.same(places(r.cities), places(assert(res:cities(c.code, r.code))))
          for _, city in ipairs(r.cities) do
            assert.are.same(places(city.isps), places(assert(res:isps(c.code, r.code, city.code))))
          end
        end
      end
    end)

    it("error: ISPs of the standart type are refused before sending (the document: premium only)", function()
      local res = client:residential("standart")
      local countries = assert(res:countries())
      local country = countries[1].code
      local regions = assert(res:regions(country))
      local cities = assert(res:cities(country, regions[1].code))
      mark()
      refused_before_sending("proxy_type", res:isps(country, regions[1].code, cities[1].code))
    end)

    it("error: a code with a space is refused, nothing sent", function()
      refused_before_sending("country", premium():regions("D E"))
    end)
  end)

  -------------------------------------------------------------------------
  describe("sub_user:fetch", function()
    it("returns the sub-user as the list shows it", function()
      local res = premium()
      local listed = some_sub_user(res)
      mark()
      local info = assert(res:sub_user(listed.user_id):fetch())
      assert.are.equal(listed.user_id, info.user_id)
      assert.are.equal(listed.first_name, info.first_name)
      assert.are.equal(listed.data, info.data)
      assert.are.equal(listed.data_spent, info.data_spent)
      assert.are.equal(listed.proxy_password, info.proxy_password)
      local u = find(state().residential.premium.sub_users, function(x) return x.user_id == listed.user_id end)
      assert.are.same({ u.first_name, u.data, u.data_spent },
        { info.first_name, info.data * SUB_USER_UNIT, info.data_spent * SUB_USER_UNIT })
      sent { method = "GET", path = "/user/api/proxies/sub-user/" .. listed.user_id,
        query = { proxy_type = "premium" } }
    end)

    it("error: a sub-user the sandbox does not have is its 404", function()
      local info, err = premium():sub_user("no-such-user"):fetch()
      refused_by_sandbox(info, err, 404, "not_found")
    end)

    it("error: a bad id is refused, nothing sent", function()
      refused_before_sending("user_id", premium():sub_user("a/b"):fetch())
    end)
  end)

  describe("sub_user:rename", function()
    it("renames the sub-user", function()
      local res = premium()
      local id = some_sub_user(res).user_id
      mark()
      local ack = assert(res:sub_user(id):rename("team-b"))
      assert.are.equal("rename", ack.operation)
      sent_among { method = "PATCH", path = "/user/api/proxies/sub-user/" .. id, query = { proxy_type = "premium" },
        body = { name = "team-b" } }
      assert.are.equal("team-b", assert(res:sub_user(id):fetch()).first_name)
    end)

    it("error: an empty name is refused, nothing sent", function()
      refused_before_sending("name", premium():sub_user("u-1"):rename(""))
    end)
  end)

  describe("sub_user:delete", function()
    it("deletes the sub-user (no proxy_type: the document gives DELETE none)", function()
      local res = premium()
      local id = some_sub_user(res).user_id
      local count = assert(res:sub_users {}).count
      local ack = assert(res:sub_user(id):delete())
      assert.are.equal("delete", ack.operation)
      sent_among { method = "DELETE", path = "/user/api/proxies/sub-user/" .. id }
      assert.are.equal(count - 1, assert(res:sub_users {}).count)
      local _, err = res:sub_user(id):fetch()
      assert.are.equal("not_found", err and err.kind)
    end)

    it("error: a sub-user the sandbox does not have is its 404", function()
      local ack, err = premium():sub_user("no-such-user"):delete()
      refused_by_sandbox(ack, err, 404, "not_found")
    end)
  end)

  describe("sub_user:add_data and sub_user:subtract_data", function()
    it("move GB from the owner to the sub-user and back", function()
      local res = premium()
      local id = some_sub_user(res).user_id
      local sub = res:sub_user(id)
      local owner0, user0 = assert(res:profile()), assert(sub:fetch())

      assert(sub:add_data(3))
      sent_among { method = "POST", path = "/user/api/proxies/sub-user/" .. id .. "/data/add",
        query = { proxy_type = "premium" }, body = { data = 3 } }
      local owner1, user1 = assert(res:profile()), assert(sub:fetch())
      assert.are.equal(owner0.data_remain_bytes - 3 * GB_BYTES, owner1.data_remain_bytes)
      assert.are.equal(3 * GB_BYTES, (user1.data - user0.data) * SUB_USER_UNIT)

      local ack = assert(sub:subtract_data(2))
      assert.are.equal("subtract_data", ack.operation)
      sent_among { method = "POST", path = "/user/api/proxies/sub-user/" .. id .. "/data/subtract",
        query = { proxy_type = "premium" }, body = { data = 2 } }
      local owner2, user2 = assert(res:profile()), assert(sub:fetch())
      assert.are.equal(2 * GB_BYTES, (user1.data - user2.data) * SUB_USER_UNIT)
      assert.are.equal(owner1.data_remain_bytes + 2 * GB_BYTES, owner2.data_remain_bytes)
    end)

    it("error: taking back more than the sub-user has is the sandbox's 400", function()
      local res = premium()
      local user = some_sub_user(res)
      local sub = res:sub_user(user.user_id)
      local have = assert(sub:fetch()).data
      local ack, err = sub:subtract_data(math.floor(have * SUB_USER_UNIT / GB_BYTES) + 1)
      refused_by_sandbox(ack, err)
      assert.are.equal(have, assert(sub:fetch()).data)
    end)

    it("error: giving more than the owner has is the sandbox's 400", function()
      local res = premium()
      local user = some_sub_user(res)
      local owner = assert(res:profile())
      local ack, err = res:sub_user(user.user_id):add_data(math.floor(owner.data_remain_bytes / GB_BYTES) + 1)
      refused_by_sandbox(ack, err)
    end)

    it("error: a fraction of a GB is refused, nothing sent", function()
      refused_before_sending("gb", premium():sub_user("u-1"):add_data(1.5))
    end)
  end)

  describe("sub_user:reset_password", function()
    it("gives the sub-user a new proxy password", function()
      local res = premium()
      local id = some_sub_user(res).user_id
      local sub = res:sub_user(id)
      local old = assert(sub:fetch()).proxy_password
      local ack = assert(sub:reset_password())
      assert.are.equal("reset_password", ack.operation)
      no_body((sent_among { method = "POST", path = "/user/api/proxies/sub-user/" .. id .. "/password",
        query = { proxy_type = "premium" } }))
      local new = assert(sub:fetch()).proxy_password
      assert.is_string(new)
      assert.are_not.equal(old, new)
    end)

    it("error: a sub-user the sandbox does not have is its 404", function()
      local ack, err = premium():sub_user("no-such-user"):reset_password()
      refused_by_sandbox(ack, err, 404, "not_found")
    end)
  end)

  -- last (busted runs the tests in order; with --filter or --shuffle this one says little)
  it("called every one of the rows", function()
    local missing = {}
    for _, row in ipairs(operations.rows) do
      if not called[row_key(row)] then
        missing[#missing + 1] = row_key(row) .. " (" .. row.method .. " " .. row.path .. ")"
      end
    end
    print(("# api calls: %d of %d rows called against the sandbox"):format(#operations.rows - #missing,
      #operations.rows))
    assert(#missing == 0, "never called against the sandbox:\n" .. table.concat(missing, "\n"))
  end)
end)
