--- One residential sub-user's handle (res:sub_user(id)): read, rename,
-- delete, move traffic and reset the password. No request is made to
-- create it.
local validate = require "proxyshard.check.validate"
local engine = require "proxyshard.engine"
local handle = require "proxyshard.handles"

local format = string.format
local tostring = tostring

local M = {}

local SubUser = handle.class("proxyshard.sub_user_handle", function(self)
  return format("proxyshard sub-user %s (%s)", tostring(self.id), tostring(self.residential.proxy_type))
end)

engine.bind(SubUser, "sub_user")

--- The handle; with a bad id, a handle whose every call returns nil, err.
function M.new(residential, user_id)
  local id, err = validate.user_id(user_id, "user_id")
  return handle.make(SubUser, { client = residential.client, residential = residential, id = id },
    err or residential.error)
end

function SubUser:bound()
  return { residential = self.residential.proxy_type, sub_user = self.id }
end

return M
