--- Settling the journal (proxyshard.jobs.journal): how did the spends end
-- whose answer no run saw — a run killed between sending and reading, an
-- interrupt, an unknown outcome? Each is settled by its evidence
-- (proxyshard.flows.evidence): the account is read now and compared with
-- what was read before the spend was sent.
--   the change shows  → done (with what it charged, when that shows);
--   nothing changed   → not done, once the entry is older than `settle`
--                       seconds (a request that recent may still land);
--   anything else     → still unknown: it stays pending, and a spend of
--                       the same thing is refused until it is settled.
-- Nothing is ever sent again: settling only reads.
--   client:pending()   client:settle()   proxyshard pending [--settle]
-- @module proxyshard.flows.settle
local operations = require "proxyshard.operations"
local settings = require "proxyshard.check.settings"
local options = require "proxyshard.check.options"
local calls = require "proxyshard.engine.call"
local evidence = require "proxyshard.flows.evidence"
local journal_of = require "proxyshard.jobs.journal"
local state = require "proxyshard.jobs.state"
local errors = require "proxyshard.errors"

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local format = string.format
local time = os.time

local M = {}

M.SETTLE = 10 -- seconds: a "sent" entry younger than this may still land

local OPTIONS = options.set({ "state_dir", "settle" }, settings.CALL_OPTIONS)

--- The journal of `client`'s account: the Journal, or nil, err.
function M.journal(client, dir)
  local path, err = state.dir(dir or client.jobs.state_dir)
  if not path then return nil, err end
  return journal_of.open(state.path(path, client, "journal"))
end

-- The call options among `o`.
local function call_options(o)
  local out = {}
  for name, v in pairs(o) do
    if settings.CALL_OPTIONS[name] then out[name] = v end
  end
  return out
end

-- Every option checked before the journal is read: the call options by
-- the rule every call has (a Call begun and dropped), settle by its own.
local function check(client, opts)
  if opts ~= nil and type(opts) ~= "table" then return nil, errors.invalid("opts", "must be a table") end
  opts = opts or {}
  local unknown = options.unknown(opts, OPTIONS, "opts")
  if unknown then return nil, unknown end
  if opts.settle ~= nil then
    local ok, err = settings.seconds(opts.settle, "settle")
    if not ok then return nil, err end
  end
  local call, err = calls.begin(client, call_options(opts))
  if not call then return nil, err end
  return opts
end

--- client:pending([opts]): the journal's entries not settled, and the
-- lines it could not read (`{ line, text }`: a line torn by a crash).
-- opts.state_dir: another state directory.
function M.pending(client, opts)
  local o, err = check(client, opts)
  if not o then return nil, err end
  local j
  j, err = M.journal(client, o.state_dir)
  if not j then return nil, err end
  local list, bad = j:pending()
  return list, bad
end

-- How one entry ended: "done", "not_done" or "unknown", charged, a note.
local function verdict(client, e, call, settle)
  local row = e.operation and operations.find(e.operation:match("^([%w_]+):([%w_]+)$"))
  local ev = row and evidence[row.evidence]
  if not ev or e.before == nil then
    return "unknown", nil, "nothing was read before it was sent: it cannot be told from the account"
  end
  local handle = require("proxyshard.handles").from_bound(client, row.handle, e.bound or {})
  if handle.error then return "unknown", nil, "its handle is bad: " .. tostring(handle.error) end
  local after, err = ev.read(handle, e.values or {}, call)
  if not after then return nil, nil, err end
  local seen, message = ev.compare(e.before, after, e.values or {}, handle)
  if seen == "done" then
    local charged = ev.charged and ev.charged(e.before, after)
    return "done", charged, "settled: the account shows it was done"
  end
  if seen == "unchanged" then
    local age = e.at_epoch and (time() - e.at_epoch) or settle
    if age < settle then
      return "unknown", nil, format("nothing changed yet, %d s after it was sent: it may still land", age)
    end
    return "not_done", nil, format("settled: nothing changed in the %d s since it was sent", age)
  end
  return "unknown", nil, message
end

--- client:settle([opts]): settle every pending entry of the journal by
-- re-reading the account, never by resending. Returns the report: a list
-- of { entry, state = "done" | "not_done" | "unknown", charged, note },
-- and the journal's unreadable lines; or nil, err. opts: state_dir,
-- settle (seconds, default 10), the call options (for the reads).
-- `only` (a flow's): settle only the entries of that operation and handle.
function M.run(client, opts, only)
  local o, err = check(client, opts)
  if not o then return nil, err end
  local j
  j, err = M.journal(client, o.state_dir)
  if not j then return nil, err end
  local list, bad = j:pending()
  local report = {}
  for _, e in ipairs(list) do
    if not only or only(e) then
      local call
      call, err = calls.begin(client, call_options(o))
      if not call then return nil, err end
      local how, charged, note = verdict(client, e, call, o.settle or M.SETTLE)
      if how == nil then return nil, note end -- the account could not be read: nothing is settled
      if how ~= "unknown" or e.state ~= "unknown" or e.note ~= note then
        local ok, werr = j:ended(e.id, how, charged, note)
        if not ok then return nil, werr end
      end
      report[#report + 1] = { entry = e, state = how, charged = charged, note = note }
    end
  end
  j:compact()
  return report, bad
end

return M
