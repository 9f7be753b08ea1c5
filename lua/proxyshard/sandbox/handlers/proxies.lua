--- The IPs of a Datacenter or ISP order: the active proxy list, OS
-- signatures (p0f) and per-IP deletion (del-np). IPs are compared by their
-- canonical spelling (proxyshard.wire.ip): `2001:0db8::11` is `2001:db8::11`;
-- an IP listed twice in one request counts once, its last value winning.
local catalog = require "proxyshard.sandbox.world.catalog"
local book = require "proxyshard.sandbox.world.order_book"
local reply = require "proxyshard.sandbox.reply"

local bad = reply.bad
local or_null = book.or_null

local H = {}

H["order.proxies"] = function(sb, v)
  local order = book.get(sb, v.order_id)
  if not catalog.DC_ISP[order.product_name] then reply.reject(403, "Method is unavailable for this order") end
  local data = {}
  for i, entry in ipairs(order.ips) do
    data[i] = {
      ip = entry.ip, username = entry.username, password = entry.password,
      http_port = entry.http_port, socks_port = entry.socks_port,
      ["until"] = order.expires_at, -- a string: the state's fixture check saw to it
      -- the document lists no values; an IP of a live order is "active"
      status = order.status,
      signature = or_null(entry.signature),
    }
  end
  return { success = true, data = data, order_tag = or_null(order.tag) }
end

-- The items by canonical IP, in the order first seen, with the last value
-- of each; every IP must be one of the order's.
local function wanted(order, items, field)
  local by_ip = book.ips_by_key(order)
  local keys, value = {}, {}
  for _, item in ipairs(items) do
    local key = book.ip_key(item.ip)
    if not by_ip[key] then bad("IP " .. item.ip .. " does not belong to order") end
    if value[key] == nil then keys[#keys + 1] = key end
    value[key] = item[field]
  end
  return keys, value, by_ip
end

-- Each IP signed for the first time takes a p0f slot for good; re-signing
-- takes none; all or nothing when the slots run out.
H["order.set_signatures"] = function(sb, v)
  local order = book.get(sb, v.order_id)
  local line = book.addon_line(order, "p0f_slots")
  if not line or line.qty < 1 then bad("p0f_slots add-on is not active") end
  local keys, signature, by_ip = wanted(order, v.items, "signature")
  local new = 0
  for _, key in ipairs(keys) do
    if by_ip[key].signature == nil then new = new + 1 end
  end
  local used = book.signed_count(order)
  if used + new > line.qty then
    bad(("Not enough p0f slots: need %d, free %d"):format(new, math.max(line.qty - used, 0)))
  end
  for _, key in ipairs(keys) do by_ip[key].signature = signature[key] end
  return { success = true, message = "Signatures updated", updated = #keys }
end

-- `value = true` marks an IP not to be renewed (it stays listed until the
-- renewal drops it); the order's quantity and price_paid follow the IPs
-- kept, priced as a renewal would be. At least one IP must stay.
H["order.set_deletion"] = function(sb, v)
  local order = book.get(sb, v.order_id)
  if not catalog.DC_ISP[order.product_name] then bad("del-np is only available for Datacenter and ISP orders") end
  local keys, marked, by_ip = wanted(order, v.items, "value")
  local kept = 0
  for key, entry in pairs(by_ip) do
    local delete = marked[key]
    if delete == nil then delete = entry.delete == true end
    if not delete then kept = kept + 1 end
  end
  if kept == 0 then bad("keep=0: at least one IP of the order must be kept") end

  for _, key in ipairs(keys) do by_ip[key].delete = marked[key] or nil end
  local cycle = catalog.cycle(catalog.product(sb.fixture, order.product_name), order.cycle_name)
  local percent = order.promo_code and catalog.promo_percent(sb.fixture, order.promo_code, cycle.name) or 0
  order.quantity = kept
  order.price_paid = catalog.discounted(cycle.price * kept, percent)
  return { success = true, message = "Deletion flags updated" }
end

return H
