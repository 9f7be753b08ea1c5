--- A desired state against what the account is (proxyshard.desired.observe):
-- the actions that make it true, in the order they must run, the notes
-- (what no action can do), and the drift (what changed outside since the
-- last apply, proxyshard.desired.record). Pure: no I/O, so the same state
-- always gives the same actions — apply recomputes them to see whether a
-- saved plan still holds.
--
-- An action is plain data (a saved plan holds it):
--   set_tag { order_id, tag }            set_auto_renewal { order_id, enabled }
--   set_deletion { order_id, items }     renew { order_id }            (spends)
--   buy_p0f { order_id, qty }  (spends)  set_signatures { order_id, items }
--   create_sub_user { proxy_type, name, gb }
--   add_data { proxy_type, user_id, name, gb }
-- each with `target` ("order 12345", "sub-user team-a (premium)"), `what`
-- (one line) and `spends`. Per order they run in that order: a renewal
-- before the slots it carries, the slots before the IPs that take them.
-- @module proxyshard.desired.diff
local errors = require "proxyshard.errors"
local time = require "proxyshard.wire.time"
local json = require "proxyshard.wire.json"

local pairs = pairs
local ipairs = ipairs
local next = next
local type = type
local tonumber = tonumber
local tostring = tostring
local format = string.format
local sort = table.sort

local M = {}

local function order_target(id) return format("order %d", id) end
local function user_target(pt, name) return format("sub-user %s (%s)", name, pt) end

local function shown(v)
  if v == nil or v == "" then return "none" end
  if type(v) == "string" then return format("%q", v) end
  return tostring(v)
end

-- Each order's wishes, merged from every entry that selects it; two
-- entries that want different things of one order are an error.
local function merged(desired, obs)
  local per, ids = {}, {}
  local function set(id, field, value, entry, ip_key)
    local w = per[id]
    if not w then
      w = { order_id = id, entries = {}, signatures = {}, del_np = {} }
      per[id] = w
      ids[#ids + 1] = id
    end
    w.entries[entry] = true
    local slot, key = w, field
    if ip_key then slot, key = w[field], ip_key end
    local had = slot[key]
    if had ~= nil and had ~= value then
      return nil, errors.invalid(format("orders[%d]", entry), format("wants %s of order %d to be %s, but an "
        .. "earlier entry wants %s", ip_key and (field .. " of " .. ip_key) or field, id, shown(value), shown(had)))
    end
    slot[key] = value
    return true
  end
  for _, e in ipairs(desired.orders) do
    local ids_of = e.order and { e.order } or obs.tagged[e.tagged] or {}
    for _, id in ipairs(ids_of) do
      local o = obs.orders[id]
      local ok, err = set(id, "seen", true, e.entry)
      for _, field in ipairs({ "tag", "auto_renewal", "min_free_p0f", "renew_within_days" }) do
        if ok and e[field] ~= nil then ok, err = set(id, field, e[field], e.entry) end
      end
      if ok and e.signature and o.ips then
        for key in pairs(o.ips) do
          ok, err = set(id, "signatures", e.signature, e.entry, key)
          if not ok then break end
        end
      end
      for key, v in pairs(e.signatures or {}) do
        if ok then ok, err = set(id, "signatures", v, e.entry, key) end
      end
      for key, v in pairs(e.del_np or {}) do
        if ok then ok, err = set(id, "del_np", v, e.entry, key) end
      end
      if not ok then return nil, err end
    end
  end
  sort(ids)
  return per, ids
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  sort(keys)
  return keys
end

-- The actions for one order (w its wishes, o what it is, flags the del-np
-- flags the last apply set).
local function order_actions(w, o, flags, now, actions, notes)
  local id, target = w.order_id, order_target(w.order_id)
  local function act(a)
    a.order_id, a.target = id, target
    actions[#actions + 1] = a
  end
  local function note(text) notes[#notes + 1] = target .. ": " .. text end
  if o.status == "cancelled" then
    note("it is cancelled: nothing can be changed")
    return true
  end
  local wants_ips = w.min_free_p0f ~= nil or next(w.signatures) ~= nil or next(w.del_np) ~= nil
  if wants_ips and not o.ip_product then
    return nil, errors.invalid(target, format("is a %s order: it has no IPs, p0f slots or del-np flags",
      tostring(o.product_name)))
  end
  if w.tag ~= nil and (o.tag or "") ~= w.tag then
    act { kind = "set_tag", tag = w.tag, what = format("set the tag of %s to %s (now %s)", target, shown(w.tag),
      shown(o.tag)) }
  end
  if w.auto_renewal ~= nil and o.auto_renewal ~= w.auto_renewal then
    act { kind = "set_auto_renewal", enabled = w.auto_renewal, what = format("turn auto-renewal of %s %s",
      target, w.auto_renewal and "on" or "off") }
  end
  -- del-np flags cannot be read back: they are compared with what the
  -- last apply set. An IP flagged for deletion and since gone is done.
  local items = {}
  for _, key in ipairs(sorted_keys(w.del_np)) do
    local v = w.del_np[key]
    if o.ips and o.ips[key] == nil then
      if not v then
        return nil, errors.invalid(target, format("has no IP %s (its del_np flag is false)", key))
      end
    elseif flags[key] ~= v then
      items[#items + 1] = { ip = key, value = v }
    end
  end
  if #items > 0 then
    act { kind = "set_deletion", items = items, what = format("set the del-np flags of %d IP%s of %s", #items,
      #items == 1 and "" or "s", target) }
  end
  if w.renew_within_days ~= nil then
    local left = o.expires_at and time.days_left(o.expires_at, now)
    if left == nil then
      note("it shows no date it expires: renew_within_days cannot be checked")
    elseif left <= w.renew_within_days then
      if o.status == "on-hold" then
        act { kind = "renew", spends = true, what = format("renew %s (%s, %s)", target,
          left < 0 and "expired " .. (-left) .. " days ago" or "expires in " .. left .. " days", o.status) }
      else
        note(format("expires in %d days; it is %s, which the API does not renew (auto-renewal %s)", left,
          tostring(o.status), o.auto_renewal and "is on" or "is off"))
      end
    end
  end
  -- the IPs to sign: those whose signature is not the one wanted
  local sign, new = {}, 0
  for _, key in ipairs(sorted_keys(w.signatures)) do
    local have = o.ips and o.ips[key]
    if have == nil then return nil, errors.invalid(target, format("has no IP %s to sign", key)) end
    if have ~= w.signatures[key] then
      sign[#sign + 1] = { ip = key, signature = w.signatures[key] }
      if have == "" then new = new + 1 end -- a first signature takes a slot
    end
  end
  if w.min_free_p0f ~= nil or new > 0 then
    local p = o.p0f
    if p.available == nil or p.used == nil then
      return nil, errors.new("decode", format("%s does not show its p0f slots (p0f_slots_available, "
        .. "p0f_slots_used): what is missing cannot be told", target))
    end
    local free = p.available - p.used
    if free < 0 then free = 0 end
    local missing = new + (w.min_free_p0f or 0) - free
    if missing > 0 then
      act { kind = "buy_p0f", qty = missing, spends = true, what = format("buy %d p0f slot%s for %s (%d free%s)",
        missing, missing == 1 and "" or "s", target, free, new > 0 and format(", %d IP%s to sign", new,
          new == 1 and "" or "s") or "") }
    end
  end
  if #sign > 0 then
    act { kind = "set_signatures", items = sign, what = format("sign %d IP%s of %s (%s)", #sign,
      #sign == 1 and "" or "s", target, sign[1].ip .. "=" .. sign[1].signature .. (#sign > 1 and ", …" or "")) }
  end
  return true
end

local GB = 1073741824

local function residential_actions(r, account, actions, notes)
  local pt, moved = r.proxy_type, 0
  for _, name in ipairs(account.twice) do
    notes[#notes + 1] = format("%s: more than one sub-user has this name; the first listed is used",
      user_target(pt, name))
  end
  for _, s in ipairs(r.sub_users) do
    local target, have = user_target(pt, s.name), account.sub_users[s.name]
    local floor = s.min_remaining_gb or 0
    if not have then
      local gb = floor > 0 and floor or 1 -- the API creates none with 0 GB
      actions[#actions + 1] = { kind = "create_sub_user", proxy_type = pt, name = s.name, gb = gb, target = target,
        what = format("create %s with %d GB of the owner's traffic", target, gb) }
      moved = moved + gb
    elseif have.data_remain == nil then
      if floor > 0 then
        notes[#notes + 1] = target .. ": shows no traffic left (data_remain): its floor cannot be checked"
      end
    elseif have.data_remain < floor then
      local gb = floor - have.data_remain
      actions[#actions + 1] = { kind = "add_data", proxy_type = pt, user_id = have.user_id, name = s.name, gb = gb,
        target = target, what = format("move %d GB of the owner's traffic to %s (%d GB left, floor %d)", gb, target,
          have.data_remain, floor) }
      moved = moved + gb
    end
  end
  if moved > 0 and account.owner_remain_bytes and account.owner_remain_bytes < moved * GB then
    notes[#notes + 1] = format("%s residential: the owner has %.2f GB left, the plan moves %d GB: the API will "
      .. "refuse what does not fit", pt, account.owner_remain_bytes / GB, moved)
  end
end

--- The actions and notes that make `desired` true, from `obs`; `applied`
-- the last apply's record (proxyshard.desired.record, or nil); `now`
-- seconds since the epoch. Returns actions, notes, or nil, err.
function M.actions(desired, obs, applied, now)
  local per, ids = merged(desired, obs)
  if not per then return nil, ids end
  local actions, notes = {}, {}
  for _, e in ipairs(desired.orders) do
    if e.tagged and #(obs.tagged[e.tagged] or {}) == 0 then
      notes[#notes + 1] = format("orders[%d]: no order that is not cancelled carries the tag %q", e.entry, e.tagged)
    end
  end
  local flags = applied and applied.del_np or {}
  for _, id in ipairs(ids) do
    local ok, err = order_actions(per[id], obs.orders[id], flags[format("%d", id)] or {}, now, actions, notes)
    if not ok then return nil, err end
  end
  for _, r in ipairs(desired.residential) do
    residential_actions(r, obs.residential[r.proxy_type], actions, notes)
  end
  return actions, notes
end

--- An action without its words: what two plans compare.
function M.key(a)
  local t = {}
  for k, v in pairs(a) do
    if k ~= "what" and k ~= "target" and k ~= "price" and k ~= "estimate" and k ~= "price_note" then t[k] = v end
  end
  return json.encode(t)
end

local DRIFT_FIELDS = { "status", "tag", "auto_renewal", "expires_at", "quantity" }

--- What changed outside since the last apply: the objects the record
-- has that `obs` has read too. A list of { target, field, was, now }.
-- `redact`: the client's redactor, as the record was written through it.
function M.drift(applied, obs, redact)
  local out = {}
  if not applied then return out end
  local function add(target, field, was, now)
    if type(now) == "string" and redact and redact(now) == was then return end
    out[#out + 1] = { target = target, field = field, was = was, now = now }
  end
  for _, key in ipairs(sorted_keys(applied.orders or {})) do
    local was, now = applied.orders[key], obs.orders[tonumber(key)]
    if now then
      local target = order_target(now.order_id)
      for _, f in ipairs(DRIFT_FIELDS) do
        if was[f] ~= now[f] then add(target, f, was[f], now[f]) end
      end
      local wp, np = was.p0f or {}, now.p0f or {}
      for _, f in ipairs({ "available", "used", "next" }) do
        if wp[f] ~= np[f] then add(target, "p0f_slots_" .. f, wp[f], np[f]) end
      end
      if was.ips and now.ips then
        local all = {}
        for k in pairs(was.ips) do all[k] = true end
        for k in pairs(now.ips) do all[k] = true end
        for _, k in ipairs(sorted_keys(all)) do
          local a, b = was.ips[k], now.ips[k]
          if a ~= b then
            add(target, "signature of " .. k, a == nil and "(no such IP)" or a, b == nil and "(no such IP)" or b)
          end
        end
      end
    end
  end
  for _, pt in ipairs(sorted_keys(applied.residential or {})) do
    local account = obs.residential[pt]
    if account then
      local was_users = applied.residential[pt]
      for _, name in ipairs(sorted_keys(was_users)) do
        local was, now = was_users[name], account.sub_users[name]
        local target = user_target(pt, name)
        if not now then
          add(target, "exists", true, false)
        else
          if was.user_id ~= now.user_id then add(target, "user_id", was.user_id, now.user_id) end
          if was.data ~= now.data then add(target, "data", was.data, now.data) end
        end
      end
    end
  end
  return out
end

return M
