-- Top up p0f slots on every active order at once, under one total cap.
--
--   PROXYSHARD_TOKEN=... [PROXYSHARD_BASE_URL=...] [BUDGET=100] [LOW=3] [BUY=2] lua5.4 examples/map_topup.lua
--
-- For every active order, concurrently (client:map, at most 10 at a time):
-- read it, quote BUY p0f slots, and where fewer than LOW slots are free,
-- buy them — while the purchases of all orders together stay within
-- BUDGET cents. Against the sandbox (bin/proxyshard-sandbox,
-- PROXYSHARD_TOKEN=sandbox-token): nothing real is spent.
local proxyshard = require "proxyshard"
local money = proxyshard.money

local client <close> = proxyshard.new {
  token = os.getenv("PROXYSHARD_TOKEN"),
  base_url = os.getenv("PROXYSHARD_BASE_URL"), -- nil: the real API
  timeout = 20,
}
local BUDGET = money.cents(math.tointeger(tonumber(os.getenv("BUDGET") or "100"))) -- cents, all purchases together
local LOW = math.tointeger(tonumber(os.getenv("LOW") or "3"))   -- buy where fewer slots are free
local BUY = math.tointeger(tonumber(os.getenv("BUY") or "2"))   -- slots to buy on such an order

local orders, err = client:all_orders { status = "active" }
if not orders then
  io.stderr:write("listing the orders failed: ", tostring(err), "\n")
  os.exit(1)
end

-- The budget all the items share. Items run concurrently, but they take
-- turns only inside the library's calls: the check and the subtraction in
-- reserve() have no call between them, so two items can never both spend
-- the last dollar. The money is reserved *before* buying (a purchase in
-- flight has spent it, as far as the others know) and given back only
-- when the purchase surely did not happen.
local left = BUDGET
local function reserve(amount)
  if amount > left then return false end
  left = left - amount
  return true
end
local function give_back(amount)
  left = left + amount
end

local function topup(o)
  local order = client:order(o.order_id)
  local info, ierr = order:fetch()
  if not info then return nil, ierr end
  local free = info:p0f_slots_free() or 0
  local slots = order:addon("p0f_slots")
  local quote, qerr = slots:quote(BUY)
  if not quote then
    -- residential orders sell no add-ons: the API refuses the quote
    if qerr.kind == "validation" then return "no p0f slots to buy here: " .. qerr.message end
    return nil, qerr
  end
  if free >= LOW then
    return ("%d slots free, no need: %s"):format(free, tostring(quote))
  end
  if not reserve(quote.total) then
    return ("%d slots free, but %s is over what is left of the budget (%s): not bought")
      :format(free, tostring(quote.total), tostring(left))
  end
  -- max_total = the amount reserved: a price risen since the quote is
  -- refused (budget, nothing bought); reconcile finds out what happened
  -- to a purchase whose answer was lost
  local receipt, perr = slots:purchase(BUY, { max_total = quote.total, reconcile = true })
  if not receipt then
    -- only an unknown outcome keeps the money reserved: it may be spent
    if perr.kind ~= "unknown_outcome" then give_back(quote.total) end
    return nil, perr
  end
  return ("%d slots free: bought %d for %s%s"):format(free, BUY, tostring(quote.total),
    receipt.overcharged and (" (charged " .. tostring(receipt.overcharged.charged) .. "!)") or "")
end

local results = client:map(orders, topup, { concurrency = 10 })

local failed = 0
for i, r in ipairs(results) do
  local what = r.value or ("FAILED: " .. tostring(r.err))
  if not r.value then failed = failed + 1 end
  print(("order %-8s %s"):format(tostring(orders[i].order_id), what))
end
print(("spent at most %s of the %s budget"):format(tostring(BUDGET - left), tostring(BUDGET)))
os.exit(failed > 0 and 1 or 0)
