--- Residential traffic, per proxy type ("standart", "premium"): the
-- owner's account and its sub-users, in `sb.data.residential[type]`, all in
-- integer bytes. Traffic only moves: from the owner to a sub-user and back,
-- and what is moved must be there — neither side ever goes below zero.
-- `data` is what was allotted, `data_spent` what was used; what is left is
-- data − data_spent.
local json = require "proxyshard.wire.json"
local reply = require "proxyshard.sandbox.reply"
local catalog = require "proxyshard.sandbox.world.catalog"

local format = string.format

local M = {}

function M.remain(t)
  return t.data - t.data_spent
end

--- The account of `proxy_type`, or 400 when there is none.
function M.account(sb, proxy_type)
  return sb.data.residential[proxy_type] or reply.bad("User resident not set for " .. proxy_type)
end

--- The account of `proxy_type`, opened (empty) by a first purchase.
function M.open(sb, proxy_type)
  local account = sb.data.residential[proxy_type]
  if not account then
    account = { proxy_password = "sbx-" .. proxy_type .. "-owner", data = 0, data_spent = 0,
      sub_users = json.array() }
    sb.data.residential[proxy_type] = account
  end
  return account
end

--- The sub-user `id` of `proxy_type`'s account, and its place in the list;
-- 404 when that account has none such.
function M.sub_user(sb, proxy_type, id)
  local account = M.account(sb, proxy_type)
  for i, sub in ipairs(account.sub_users) do
    if sub.user_id == id then return sub, account, i end
  end
  reply.not_found("Sub user not found")
end

--- The sub-user `id` of any proxy type (DELETE names none).
function M.any_sub_user(sb, id)
  for _, account in pairs(sb.data.residential) do
    for i, sub in ipairs(account.sub_users) do
      if sub.user_id == id then return sub, account, i end
    end
  end
  reply.not_found("Sub user not found")
end

local GB = catalog.GB

-- Bytes as GB with two decimals, in integer arithmetic (rounded down).
local function gb(bytes)
  return format("%d.%02d GB", bytes // GB, bytes % GB * 100 // GB)
end

--- Move `bytes` of what `from` has left to `to`; 400, and nothing moved,
-- when `from` has less. `who` names `from` in the message.
function M.move(from, to, bytes, who)
  local left = M.remain(from)
  if left < bytes then
    reply.bad(format("Not enough traffic: %s has %s left, %s asked", who, gb(left), gb(bytes)))
  end
  from.data = from.data - bytes
  to.data = to.data + bytes
end

return M
