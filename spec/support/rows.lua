-- Calling any row of the operation table with arguments its validators
-- take, on a handle made through the handle tree, over the fake transport:
-- for the specs that walk the rows (spend_spec, writes_spec).
local operations = require "proxyshard.operations"
local fake_transport = require "support.fake_transport"
local plan = require "proxyshard.engine.plan"

local unpack = table.unpack or unpack -- luacheck: ignore (LuaJIT)

local M = {}

-- A value each validator takes, for the rows' required arguments.
M.SAMPLE = {
  id = 12345, quantity = 1, gb = 1, text = "Datacenter Proxy", addon_key = "p0f_slots", proxy_type = "premium",
  user_id = "u-1", boolean = true, tag = "t", code = "DE", order_status = "active",
  signature_items = { { ip = "203.0.113.7", signature = "win11" } },
  deletion_items = { { ip = "203.0.113.7", value = true } },
}

-- The handle a row's method lives on, made through the handle tree.
function M.handle_for(client, handle_name)
  local chain, node = {}, operations.handle[handle_name]
  while node.parent do
    table.insert(chain, 1, node)
    node = operations.handle[node.parent]
  end
  local h = client
  for _, n in ipairs(chain) do h = h[n.maker](h, M.SAMPLE[n.check]) end
  return h
end

-- The arguments of a call of `row` (its required ones), and where opts go.
function M.args_for(row)
  if row.args == "table" then
    local t = {}
    for _, p in ipairs(row.params) do
      if p.required and not p.bound and p.value == nil then t[p.name] = M.SAMPLE[p.check] end
    end
    return { t }
  end
  local out = {}
  for i, name in ipairs(row.args) do
    for _, p in ipairs(row.params) do
      if p.name == name then out[i] = M.SAMPLE[p.check] end
    end
  end
  return out
end

-- What the request plan (proxyshard.engine.plan) makes of `row` on the
-- handle that binds `bound` ({ order = 12345, addon = "p0f_slots" }),
-- made as a script makes it, with the arguments `args` (a list) and
-- `opts`: the request and the values, or nil, err.
local client
function M.request(row, bound, args, opts)
  client = client or require("proxyshard").new { token = "spec-token", base_url = "http://127.0.0.1:9" }
  local handle = require("proxyshard.handles").from_bound(client, row.handle, bound)
  return plan.request(row, handle, opts, unpack(args, 1, plan.arity(row)))
end

function M.call(h, row, opts)
  local args = M.args_for(row)
  args[#args + 1] = opts
  return h[row.name](h, unpack(args))
end

-- Every price the fake API gives: far above any cap the specs set.
local ORDER = '{"success":true,"order":{"order_id":12345,"product_name":"Datacenter Proxy","cycle_name":"monthly",'
  .. '"quantity":2,"status":"on-hold","price_paid":1500,"addons_price_paid":0,"addons":[]}}'
function M.priced_fake()
  return fake_transport.new()
    :standing("^GET .*/addons/calculate", '{"success":true,"addon_key":"p0f_slots","add_qty":1,"add_total":99999}')
    :standing("^GET .*/orders/calculate", '{"original_price":99999,"final_price":99999,"discount_percent":0,'
      .. '"addons_price":0,"total_with_addons":99999}')
    :standing("^GET .*/orders/%d+$", ORDER)
    :standing("^GET .*/me$", '{"email":"a@b","active_orders":1,"wallet_balance":100000}')
end

return M
