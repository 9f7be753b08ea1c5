--- What the last apply left: the state it read after acting, per order and
-- per sub-user, and the del-np flags it set (the API cannot show them), in
-- `<state dir>/<account>.applied.json`. A plan compares it with what the
-- account is now to report drift: what changed outside since. Each apply
-- merges what it read into the record (an order or sub-user that another
-- desired-state file manages keeps its entry), and writes the file
-- atomically (proxyshard.core.replace: the old file or the new one).
-- @module proxyshard.desired.record
local errors = require "proxyshard.errors"
local json = require "proxyshard.wire.json"
local state = require "proxyshard.jobs.state"
local observe = require "proxyshard.desired.observe"

local type = type
local pairs = pairs
local tostring = tostring
local format = string.format
local date = os.date

local M = {}

--- The record's path for `client`, in the state directory `dir` (nil:
-- the client's, or the default): the path, or nil, err.
function M.path(client, dir)
  local where, err = state.dir(dir or client.jobs.state_dir)
  if not where then return nil, err end
  return state.path(where, client, "applied.json")
end

--- The last apply's record, or nil when there was none (or nil, err when
-- it cannot be read: a record that is not JSON is reported, not guessed).
function M.read(client, dir)
  local path, err = M.path(client, dir)
  if not path then return nil, err end
  local f = io.open(path, "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  local value = json.decode(text)
  if type(value) ~= "table" then
    return nil, errors.invalid("state_dir", format("holds a record of the last apply that cannot be read (%s): "
      .. "remove it to start afresh", path))
  end
  return json.integers(value)
end

--- Merge what apply read after acting (`obs`) and the del-np flags it set
-- (`flags`: order id → { [ip] = value }) into the record, and write it.
-- Returns true, or nil, err.
function M.write(client, dir, obs, flags)
  local path, err = M.path(client, dir)
  if not path then return nil, err end
  local old
  old, err = M.read(client, dir)
  if err then return nil, err end
  local rec = old or {}
  rec.orders, rec.residential, rec.del_np = rec.orders or {}, rec.residential or {}, rec.del_np or {}
  local seen = observe.projection(obs)
  for id, o in pairs(seen.orders) do rec.orders[id] = o end
  for pt, users in pairs(seen.residential) do rec.residential[pt] = users end
  for id, set in pairs(flags or {}) do
    local key = format("%d", id)
    rec.del_np[key] = rec.del_np[key] or {}
    for ip, v in pairs(set) do rec.del_np[key][ip] = v end
  end
  rec.applied_at = date("!%Y-%m-%dT%H:%M:%SZ")
  -- never the token, whatever the server echoed: the plan compares the
  -- account with the record through the same redactor
  local text = require("proxyshard.engine.call").redactor(client)(json.encode(rec))
  local ok, why = require("proxyshard.core").replace(path, text .. "\n")
  if not ok then
    return nil, errors.invalid("state_dir", "the record of the apply cannot be written: " .. tostring(why))
  end
  return true
end

return M
