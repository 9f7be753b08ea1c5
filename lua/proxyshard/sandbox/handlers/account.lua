--- The account and what is on sale: /me, /proxies/products,
-- /proxies/available-count. Handlers take (sb, values, req) and return the
-- answer as a Lua value, which the state renders by the row's shape.
local json = require "proxyshard.wire.json"

local H = {}

H["client.me"] = function(sb)
  local active = 0
  for _, order in ipairs(sb.data.orders) do
    if order.status == "active" then active = active + 1 end
  end
  return { email = sb.data.account.email, active_orders = active, wallet_balance = sb.data.account.wallet_balance }
end

-- One entry per product and location (ProductWithCycles has one
-- location); residential products are bought for no place, and list none.
H["client.products"] = function(sb)
  local out = json.array()
  for _, p in ipairs(sb.fixture.products) do
    local cycles = json.array()
    for i, c in ipairs(p.cycles) do cycles[i] = c.name end
    local locations = p.locations or { json.null }
    for _, location in ipairs(locations) do
      out[#out + 1] = { name = p.name, description = p.description, location = location, cycles = cycles }
    end
  end
  return { success = true, products = out }
end

H["client.available"] = function(sb)
  return sb.data.stock
end

return H
