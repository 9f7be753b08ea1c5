-- Top up p0f signature slots and sign IPs, as a cron job would.
--
--   PROXYSHARD_TOKEN=... [PROXYSHARD_BASE_URL=...] [ORDER_ID=12345] lua5.4 examples/topup.lua
--
-- Against the sandbox (scripts/demo.sh starts one): nothing real is spent.
local proxyshard = require "proxyshard"

local client <close> = proxyshard.new {
  token = os.getenv("PROXYSHARD_TOKEN"),
  base_url = os.getenv("PROXYSHARD_BASE_URL"), -- nil: the real API
  timeout = 20,
}
local order_id = os.getenv("ORDER_ID") or 12345
local BUDGET = 100 -- cents: never spend more than $1.00 in one run

-- Every call returns the value, or nil and an error value: stop on errors.
local function check(what, value, err)
  if value == nil then
    io.stderr:write(("%-22s FAILED: %s\n"):format(what, tostring(err)))
    os.exit(1)
  end
  return value
end

local function step(what, value, err)
  print(("%-22s %s"):format(what, tostring(check(what, value, err))))
  return value
end

local account = step("account", client:me())
local balance_before = account.wallet_balance

local order = check("order", client:order(order_id))
step("order", order:fetch())
local slots = check("add-on", order:addon("p0f_slots"))

-- 1. See the price before spending.
step("quote", slots:quote(2))

-- 2. A cap below the price: the library quotes, refuses, buys nothing.
local _, refused = slots:purchase(2, { max_total = 1 })
print(("%-22s %s"):format("cap of $0.01", refused and refused.kind == "budget"
  and ("refused, nothing bought: " .. refused.message) or ("UNEXPECTED: " .. tostring(refused))))
if not (refused and refused.kind == "budget") then os.exit(1) end

-- 3. Buy under the real budget.
local receipt = step("purchase", slots:purchase(2, { max_total = BUDGET }))

-- 4. Sign every proxy IP that has no signature yet, as Windows 11.
local proxies = check("proxies", order:proxies())
local items = {}
for _, proxy in ipairs(proxies) do
  if proxy.signature == nil then items[#items + 1] = { ip = proxy.ip, signature = "win11" } end
end
print(("%-22s %d of %d IPs have no signature"):format("to sign", #items, #proxies))
local info = step("order now", order:fetch())
local free = info:p0f_slots_free()
if #items > free then
  print(("%-22s only %d free slots: signing the first %d"):format("slots", free, free))
  for i = #items, free + 1, -1 do items[i] = nil end
end
if #items > 0 then step("signed IPs", order:set_signatures(items)) end

-- 5. Schedule a downgrade at renewal, look at it, and change our mind.
local line = receipt:line() or info:addon_line("p0f_slots")
step("schedule downgrade", slots:schedule_downgrade(line.qty - 1))
step("pending", order:fetch())
step("cancel downgrade", slots:cancel_downgrade())

-- 6. What it cost, exactly.
local after = step("account after", client:me())
print(("%-22s %s"):format("wallet before", tostring(balance_before)))
local spent = balance_before - after.wallet_balance
print(("%-22s %s (quoted %s, cap %s)"):format("spent", tostring(spent),
  tostring(receipt.quote.total), tostring(proxyshard.money.cents(BUDGET))))
print(("%-22s %s"):format("wallet after", tostring(after.wallet_balance)))
