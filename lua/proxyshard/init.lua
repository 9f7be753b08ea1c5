--- proxyshard: a client for the ProxyShard User API.
--
--   local proxyshard = require "proxyshard"
--   local client = proxyshard.new{ token = os.getenv("PROXYSHARD_TOKEN") }
--   local quote, err = client:order(12345):addon("p0f_slots"):quote(2)
--
-- Every call that can fail returns `nil, err`; err.kind is one of
-- proxyshard.errors.KINDS. Amounts are money values (exact integer cents).
local client = require "proxyshard.client"
local errors = require "proxyshard.errors"

local M = {
  _VERSION = require "proxyshard.version",
  errors = errors,
  KINDS = errors.KINDS,
  SIGNATURES = require("proxyshard.validate").SIGNATURES,
  DEFAULT_BASE_URL = client.DEFAULT_BASE_URL,
}

--- Create a client.
-- opts.token            API token (required; raises when missing)
-- opts.base_url         default "https://user-api.proxyshard.com"
-- opts.timeout          seconds for a whole call, default 30
-- opts.connect_timeout  seconds to connect, default 10
-- opts.max_response_bytes  default 1 MiB
-- opts.ca_file          PEM file of CAs to trust instead of the system's
-- opts.allow_insecure   allow plain http:// to a non-loopback host (default false)
-- opts.transport        replace libcurl (see docs/transport.md)
function M.new(opts)
  return client.new(opts)
end

--- Lazily loaded so that pure-Lua uses need not load the C module.
setmetatable(M, { __index = function(t, k)
  if k == "money" then
    local money = require "proxyshard.money"
    rawset(t, k, money)
    return money
  end
end })

return M
