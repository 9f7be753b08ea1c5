-- Residential sub-user provisioning: one sub-user per team, each with at
-- least the traffic (GB) the team is due, moved from the owner's account.
-- Run it again and it changes nothing: sub-users are found by name, and
-- only a shortfall is topped up. Prints each team's proxy login.
--
--   PROXYSHARD_TOKEN=... [PROXYSHARD_BASE_URL=...] [PROXY_TYPE=premium] lua5.4 examples/provision_sub_users.lua
--
-- Against the sandbox (bin/proxyshard-sandbox): nothing real is moved.
local proxyshard = require "proxyshard"

-- the teams and the GB each is due (a real setup would read them from a file)
local TEAMS = {
  { name = "team-a", gb = 6 },
  { name = "crawlers", gb = 3 },
  { name = "qa", gb = 1 },
}

local client <close> = proxyshard.new {
  token = os.getenv("PROXYSHARD_TOKEN"),
  base_url = os.getenv("PROXYSHARD_BASE_URL"), -- nil: the real API
}
local res = client:residential(os.getenv("PROXY_TYPE") or "premium")

-- Every call returns the value, or nil and an error value: stop on errors.
local function check(what, value, err)
  if value == nil then
    io.stderr:write(("%s: %s\n"):format(what, tostring(err)))
    os.exit(1)
  end
  return value
end

print(check("profile", res:profile()))

-- the sub-users there already, by name (every page)
local by_name = {}
for _, user in ipairs(check("sub-users", res:all_sub_users())) do
  by_name[user.first_name] = user
end

local changed = 0
for _, team in ipairs(TEAMS) do
  local user = by_name[team.name]
  if not user then
    local made = check("create " .. team.name, res:create_sub_user { name = team.name, data = team.gb })
    print(("%-10s created with %d GB (user %s)"):format(team.name, team.gb, made.user_id))
    changed = changed + 1
  elseif (user.data or 0) < team.gb then
    local more = team.gb - (user.data or 0)
    check("add data to " .. team.name, user:handle():add_data(more))
    print(("%-10s topped up by %d GB to %d GB"):format(team.name, more, team.gb))
    changed = changed + 1
  else
    print(("%-10s has %d GB: nothing to do"):format(team.name, user.data))
  end
end

-- the logins to hand out, read back so that the passwords are current
for _, user in ipairs(check("sub-users", res:all_sub_users())) do
  by_name[user.first_name] = user
end
for _, team in ipairs(TEAMS) do
  local user = check("read " .. team.name, by_name[team.name]:handle():fetch())
  print(("login %-10s user %s, password %s, %s GB"):format(team.name, user.user_id, user.proxy_password,
    tostring(user.data)))
end
print(("%d changes"):format(changed))
print(check("profile", res:profile()))
