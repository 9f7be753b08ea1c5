--- Residential accounts, per proxy type: the owner's traffic and proxy
-- password, and sub-users — created with traffic taken from the owner,
-- listed, read, renamed, deleted (what they had left goes back to the
-- owner), given or relieved of traffic, given a new password. Traffic is
-- asked for in whole GB and kept in bytes (proxyshard.sandbox.world.traffic);
-- the profile answers in bytes (the document says so), a sub-user's
-- fields in GB (the document gives no unit; docs/sandbox.md says the
-- sandbox counts GB). A sub-user only ever gets and gives whole GB, so
-- the division is exact.
local json = require "proxyshard.wire.json"
local catalog = require "proxyshard.sandbox.world.catalog"
local traffic = require "proxyshard.sandbox.world.traffic"

local GB = catalog.GB
local DEFAULT_LIMIT = 20 -- GetSubUsersRequest's default

local H = {}

-- A sub-user as the answers write it.
local function view(sub)
  return { user_id = sub.user_id, first_name = sub.first_name, proxy_password = sub.proxy_password,
    data = sub.data // GB, data_spent = sub.data_spent // GB, data_remain = traffic.remain(sub) // GB }
end

H["residential.profile"] = function(sb, v)
  local account = traffic.account(sb, v.proxy_type)
  return { success = true, data = account.data, data_remain = traffic.remain(account),
    data_spent = account.data_spent, proxy_password = account.proxy_password }
end

H["residential.sub_users"] = function(sb, v)
  local users = traffic.account(sb, v.proxy_type).sub_users
  local offset, limit = v.offset or 0, v.limit or DEFAULT_LIMIT
  local page = json.array()
  for i = offset + 1, math.min(offset + limit, #users) do page[#page + 1] = view(users[i]) end
  return { success = true, count = #users, data = page }
end

-- Passwords are counted, not random: the n-th one issued since the reset
-- is "sbx-<user_id>-pw<n>".
local function new_password(sb, user_id)
  sb.data.passwords_issued = sb.data.passwords_issued + 1
  return ("sbx-%s-pw%d"):format(user_id, sb.data.passwords_issued)
end

H["residential.create_sub_user"] = function(sb, v)
  local account = traffic.account(sb, v.proxy_type)
  local id = "u-" .. sb.data.next_sub_user
  local sub = { user_id = id, first_name = v.name, data = 0, data_spent = 0 }
  traffic.move(account, sub, v.data * GB, "the owner")
  sb.data.next_sub_user = sb.data.next_sub_user + 1
  sub.proxy_password = new_password(sb, id)
  account.sub_users[#account.sub_users + 1] = sub
  return { success = true, data = { view(sub) } }
end

H["sub_user.fetch"] = function(sb, v)
  return { success = true, data = { view(traffic.sub_user(sb, v.proxy_type, v.user_id)) } }
end

H["sub_user.rename"] = function(sb, v)
  traffic.sub_user(sb, v.proxy_type, v.user_id).first_name = v.name
  return { success = true, message = "Sub user edited successfully" }
end

H["sub_user.delete"] = function(sb, v)
  local sub, account, i = traffic.any_sub_user(sb, v.user_id)
  traffic.move(sub, account, traffic.remain(sub), "the sub-user")
  table.remove(account.sub_users, i)
  return { success = true, message = "Sub user deleted successfully" }
end

H["sub_user.add_data"] = function(sb, v)
  local sub, account = traffic.sub_user(sb, v.proxy_type, v.user_id)
  traffic.move(account, sub, v.gb * GB, "the owner")
  return { success = true, message = "Traffic added to sub user successfully" }
end

H["sub_user.subtract_data"] = function(sb, v)
  local sub, account = traffic.sub_user(sb, v.proxy_type, v.user_id)
  traffic.move(sub, account, v.gb * GB, "the sub-user")
  return { success = true, message = "Traffic subtracted from sub user successfully" }
end

H["sub_user.reset_password"] = function(sb, v)
  local sub = traffic.sub_user(sb, v.proxy_type, v.user_id)
  sub.proxy_password = new_password(sb, sub.user_id)
  return { success = true, message = "Sub user password changed successfully" }
end

return H
