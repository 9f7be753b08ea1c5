--- proxyshard: a client for the ProxyShard User API.
--
--   local proxyshard = require "proxyshard"
--   local client = proxyshard.new{ token = os.getenv("PROXYSHARD_TOKEN") }
--   local quote, err = client:order(12345):addon("p0f_slots"):quote(2)
--
-- Every call that can fail returns `nil, err`; err.kind is one of
-- proxyshard.errors.KINDS. Amounts are money values (exact integer cents).
-- Speed: `require "proxyshard"` loads almost nothing; the client, the
-- operation table and the C module (libcurl) load on first use — a script
-- that only formats money, or fails on a bad option, never pays for them.
local errors = require "proxyshard.errors"

local rawset = rawset
local require = require

local M = {
  _VERSION = require "proxyshard.version",
  errors = errors,
  KINDS = errors.KINDS,
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
  return require("proxyshard.handles.client").new(opts)
end

--- The plan that makes a desired state true (proxyshard.desired.plan):
-- `desired` is a table or the path of a desired-state file. Returns the
-- plan (print it; plan:apply{ max_total = ... } carries it out), or nil, err.
function M.plan(client, desired, opts)
  return require("proxyshard.desired.plan").make(client, desired, opts)
end

-- The fields loaded on first use, and what they are.
local LAZY = {
  money = function() return require "proxyshard.money" end,
  SIGNATURES = function() return require("proxyshard.check.validate").SIGNATURES end,
  DEFAULT_BASE_URL = function() return require("proxyshard.check.settings").DEFAULT_BASE_URL end,
  help = function() return require "proxyshard.help" end,
}

setmetatable(M, { __index = function(t, k)
  local load = LAZY[k]
  if not load then return nil end
  local v = load()
  rawset(t, k, v)
  return v
end })

return M
