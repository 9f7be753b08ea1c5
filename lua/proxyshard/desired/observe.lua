--- What the account is now, as far as a desired state looks: every read a
-- plan needs, made concurrently (client:map), and the state they show in
-- plain values (no models), with a digest of it:
--
--   orders[id] = { order_id, product_name, status, expires_at, tag,
--     auto_renewal, quantity, ip_product, p0f = { available, used, next },
--     ips = { [canonical IP] = signature or "" } (read when an entry signs
--     or flags IPs) }
--   tagged[tag] = { ids }, for the tags the desired state selects by
--   residential[proxy_type] = { owner_remain_bytes, sub_users = { [name] =
--     { user_id, data, data_remain } }, twice = { names listed twice } }
--
-- The digest covers what the actions are made from, but not the traffic
-- being used up as proxies run (a sub-user's `data_remain`, the owner's):
-- it would make every saved plan stale within seconds. apply compares
-- the actions themselves too, so a floor whose top-up grew is caught.
-- A read that fails fails the whole look: nothing is planned on half a
-- picture.
-- @module proxyshard.desired.observe
local errors = require "proxyshard.errors"
local json = require "proxyshard.wire.json"
local ip = require "proxyshard.wire.ip"
local order_info = require "proxyshard.model.order_info"

local pairs = pairs
local ipairs = ipairs
local sort = table.sort
local format = string.format

local M = {}

M.DEFAULT_CONCURRENCY = 8

--- fn(item) for each of `list`, at most `concurrency` at a time
-- (client:map): true, or the first error (a raised one is raised again:
-- it is a bug).
function M.all(client, list, fn, concurrency)
  if #list == 0 then return true end
  local results, err = client:map(list, fn, { concurrency = concurrency })
  if not results then return nil, err end
  for _, r in ipairs(results) do
    if r.err ~= nil then
      if not errors.is(r.err) then error(r.err, 0) end -- a bug of ours: raise it
      return nil, r.err
    end
  end
  return true
end

-- Does any entry of `desired` need the order's IPs?
local function needs_ips(entry)
  return entry.signature ~= nil or entry.signatures ~= nil or entry.del_np ~= nil
end

--- Read what `desired` (proxyshard.desired.file.check's) looks at.
-- opts.concurrency (default 8). Returns the observation, or nil, err.
function M.read(client, desired, opts)
  local concurrency = opts and opts.concurrency or M.DEFAULT_CONCURRENCY
  local obs = { orders = {}, tagged = {}, residential = {} }
  -- 1. the orders a tag selects: the order list (every status; the
  -- cancelled ones are dropped once their details show it)
  local by_tag, any_tag = {}, false
  for _, e in ipairs(desired.orders) do
    if e.tagged then by_tag[e.tagged], any_tag = {}, true end
  end
  if any_tag then
    local list, err = client:all_orders { status = "all" }
    if not list then return nil, err end
    for _, o in ipairs(list) do
      if o.tag and by_tag[o.tag] and o.order_id then
        local ids = by_tag[o.tag]
        ids[#ids + 1] = o.order_id
      end
    end
  end
  -- 2. each order once: its details, and its IPs when an entry needs them
  local wanted, ips_for = {}, {}
  for _, e in ipairs(desired.orders) do
    local ids = e.order and { e.order } or by_tag[e.tagged]
    for _, id in ipairs(ids) do
      wanted[id] = true
      if needs_ips(e) then ips_for[id] = true end
    end
  end
  local tasks = {}
  for id in pairs(wanted) do
    tasks[#tasks + 1] = function()
      local order = client:order(id)
      local info, err = order:fetch()
      if not info then return nil, err end
      local o = { order_id = id, product_name = info.product_name, status = info.status,
        expires_at = info.expires_at, tag = info.tag, auto_renewal = info.auto_renewal, quantity = info.quantity,
        ip_product = order_info.IP_PRODUCTS[info.product_name] or false,
        p0f = { available = info.p0f_slots_available, used = info.p0f_slots_used, next = info.p0f_slots_next } }
      obs.orders[id] = o
      if ips_for[id] and o.ip_product and o.status ~= "cancelled" then
        local list
        list, err = order:proxies()
        if not list then return nil, err end
        o.ips = {}
        for _, p in ipairs(list) do
          local key = p.ip and ip.canonical(p.ip)
          if key then o.ips[key] = p.signature or "" end
        end
      end
      return true
    end
  end
  -- 3. each residential proxy type: its sub-users and the owner's traffic
  for _, r in ipairs(desired.residential) do
    local account = { sub_users = {}, twice = {} }
    obs.residential[r.proxy_type] = account
    local res = client:residential(r.proxy_type)
    tasks[#tasks + 1] = function()
      local users, err = res:all_sub_users()
      if not users then return nil, err end
      for _, u in ipairs(users) do
        local name = u.first_name
        if name then
          if account.sub_users[name] then account.twice[#account.twice + 1] = name end
          account.sub_users[name] = { user_id = u.user_id, data = u.data, data_remain = u.data_remain }
        end
      end
      return true
    end
    tasks[#tasks + 1] = function()
      local profile, err = res:profile()
      if not profile then return nil, err end
      account.owner_remain_bytes = profile.data_remain_bytes
      return true
    end
  end
  local ok, err = M.all(client, tasks, function(task) return task() end, concurrency)
  if not ok then return nil, err end
  -- the tag's orders, in id order, without the cancelled ones
  for tag, ids in pairs(by_tag) do
    sort(ids)
    local live = {}
    for _, id in ipairs(ids) do
      if obs.orders[id] and obs.orders[id].status ~= "cancelled" then live[#live + 1] = id end
    end
    obs.tagged[tag] = live
  end
  obs.digest = M.digest(obs)
  return obs
end

--- The part of an observation the digest covers, as plain values.
function M.projection(obs)
  local orders = {}
  for id, o in pairs(obs.orders) do
    orders[format("%d", id)] = { product_name = o.product_name, status = o.status, expires_at = o.expires_at,
      tag = o.tag, auto_renewal = o.auto_renewal, quantity = o.quantity, p0f = o.p0f, ips = o.ips }
  end
  local residential = {}
  for pt, account in pairs(obs.residential) do
    local users = {}
    for name, u in pairs(account.sub_users) do users[name] = { user_id = u.user_id, data = u.data } end
    residential[pt] = users
  end
  return { orders = orders, residential = residential }
end

--- The digest of an observation: 64 hex digits of a SHA-256 of its
-- projection in canonical JSON (keys sorted).
function M.digest(obs)
  return require("proxyshard.core").sha256(json.encode(M.projection(obs)))
end

return M
