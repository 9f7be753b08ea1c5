--- A residential proxy type's handle (client:residential("premium")): the
-- owner's traffic, sub-users, and the places proxies can target. No
-- request is made to create it. `proxy_type` is "standart" or "premium",
-- as the API spells it ("standard" is taken for "standart").
local validate = require "proxyshard.check.validate"
local engine = require "proxyshard.engine"
local operations = require "proxyshard.operations"
local handle = require "proxyshard.handles"

local format = string.format
local tostring = tostring

local M = {}

local Residential = handle.class("proxyshard.residential", function(self)
  return format("proxyshard residential %s", tostring(self.proxy_type))
end)

engine.bind(Residential, "residential")

--- The handle; with a bad proxy type, a handle whose every call returns
-- nil, err — and the err as a second value.
function M.new(client, proxy_type)
  local t, err = validate.proxy_type(proxy_type, "proxy_type")
  return handle.make(Residential, { client = client, proxy_type = t }, err)
end

function Residential:bound()
  return { residential = self.proxy_type }
end

--- The handle of one sub-user (no request is made).
function Residential:sub_user(user_id)
  return require("proxyshard.handles.sub_user").new(self, user_id)
end

--- Every sub-user, all pages read (at most MAX_PAGES of them).
-- opts: the call options, shared by every page's request.
function Residential:all_sub_users(opts)
  return handle.all_pages(self, operations.find("residential", "sub_users"), "sub_users", opts)
end

return M
