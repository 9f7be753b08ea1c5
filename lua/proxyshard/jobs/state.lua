--- Where a job's files live, and whose they are. A run's lock and its
-- journal of spends belong to one account at one API: the files are named
-- by a digest of the base URL and the token (never the token), in the
-- user's state directory:
--   opts.state_dir, else $PROXYSHARD_STATE_DIR, else
--   $XDG_STATE_HOME/proxyshard, else ~/.local/state/proxyshard
-- (the command's --state-dir sets the first). The directory is made, mode
-- 0700, when a file is first needed there.
-- @module proxyshard.jobs.state
local errors = require "proxyshard.errors"
local calls = require "proxyshard.engine.call"

local getenv = os.getenv

local M = {}

local function core() return require "proxyshard.core" end

--- The default state directory in the environment `env` (a getenv-like
-- function, default os.getenv), or nil when it has none.
function M.default(env)
  env = env or getenv
  local dir, xdg, home = env("PROXYSHARD_STATE_DIR"), env("XDG_STATE_HOME"), env("HOME")
  if dir ~= nil and dir ~= "" then return dir end
  if xdg ~= nil and xdg:sub(1, 1) == "/" then return xdg .. "/proxyshard" end
  if home ~= nil and home ~= "" then return home .. "/.local/state/proxyshard" end
  return nil
end

--- The state directory `dir` (a path; nil: the default; false: none was
-- found where the caller looked), made if missing: the path, or nil, err.
function M.dir(dir)
  if dir == nil then dir = M.default() end
  if not dir then
    return nil, errors.invalid("state_dir", "has no default here (no PROXYSHARD_STATE_DIR, XDG_STATE_HOME or "
      .. "HOME): give one (--state-dir)")
  end
  local ok, why = core().mkdirs(dir, 448) -- 0700: the journal says what was bought
  if not ok then return nil, errors.invalid("state_dir", "cannot be made: " .. tostring(why)) end
  return dir
end

--- The account's name for files: 16 hex digits of a digest of the base URL
-- and the token.
function M.account(client)
  return core().sha256(client.base_url .. "\n" .. calls.secret_line(client)):sub(1, 16)
end

--- The path of the account's `what` file ("lock", "journal") in `dir`.
function M.path(dir, client, what)
  return dir .. "/" .. M.account(client) .. "." .. what
end

return M
