--- A durable journal of spends: before a spending request is sent, a line
-- saying what is about to be bought is appended to the account's journal
-- and fsync'd; after the answer, a line saying how it ended. A run that
-- dies in between (a crash, kill -9, a lost machine) leaves an entry
-- that is still "sent": the next spending run settles it first, by
-- reconciliation (proxyshard.flows.settle), and never sends it again
-- blindly.
--
-- The file, `<state dir>/<account>.journal`, is JSON lines (docs/jobs.md):
--   {"id":"…","state":"sent","at":"2026-12-06T05:20:00Z","at_epoch":1796534400,
--    "operation":"addon:purchase","bound":{"order":12345,"addon":"p0f_slots"},
--    "values":{"order_id":12345,"addon_key":"p0f_slots","add_qty":2},"price_cents":60,
--    "max_total_cents":100,"before":{…}}
--   {"id":"…","state":"done"|"not_done"|"unknown","ended_at":"…","charged_cents":60,"note":"…"}
-- An entry's last line is its state. It never holds the token. A line cut
-- short by a crash is reported (`torn`) and skipped, the rest still read.
-- Settled entries are compacted away once there are more than COMPACT_AT.
-- @module proxyshard.jobs.journal
local json = require "proxyshard.wire.json"
local errors = require "proxyshard.errors"

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local format = string.format
local date = os.date
local concat = table.concat

local M = {}

M.COMPACT_AT = 200 -- settled entries kept before the file is rewritten without them

local SETTLED = { done = true, not_done = true }

local function core() return require "proxyshard.core" end
local function money() return require "proxyshard.money" end

-- Money values as { ["$cents"] = n } and back, so that a state read before
-- a spend (proxyshard.flows.evidence) can be compared after a restart.
local function plain(v)
  if money().is(v) then return { ["$cents"] = v.cents } end -- a userdata
  if type(v) ~= "table" then return v end
  local out = {}
  for k, x in pairs(v) do
    if type(k) ~= "string" or k:sub(1, 1) ~= "_" then out[k] = plain(x) end
  end
  if json.is_array(v) and #v > 0 then return json.array(out) end
  return out
end

local tointeger = math.tointeger

local function revive(v)
  -- lua-cjson reads every number as a float; the journal writes integers only
  if type(v) == "number" then return tointeger and tointeger(v) or v end
  if type(v) ~= "table" then return v end
  if v["$cents"] ~= nil then return money().cents(v["$cents"]) end
  for k, x in pairs(v) do v[k] = revive(x) end
  return v
end

local function now()
  return date("!%Y-%m-%dT%H:%M:%SZ")
end

--- A random id for an entry (16 hex digits).
function M.new_id()
  local f = io.open("/dev/urandom", "rb")
  local bytes = f and f:read(8)
  if f then f:close() end
  if not bytes or #bytes < 8 then
    bytes = tostring(os.time()) .. tostring({}) .. tostring(math.random())
    return core().sha256(bytes):sub(1, 16)
  end
  return (bytes:gsub(".", function(c) return format("%02x", c:byte()) end))
end

local Journal = {}
Journal.__index = Journal

--- The journal at `path`.
function M.open(path)
  return setmetatable({ path = path }, Journal)
end

-- Append one record, on disk when it returns.
function Journal:append(record)
  local ok, why = core().append(self.path, json.encode(plain(record)) .. "\n")
  if not ok then
    return nil, errors.invalid("journal", format("cannot be written (%s): nothing was sent", tostring(why)))
  end
  return true
end

--- Record a spend about to be sent. `entry`: operation ("addon:purchase"),
-- bound (what the handle binds), values (the checked arguments), price
-- (money or nil), estimate, max_total, before (the evidence read before).
-- Returns its id, or nil, err.
function Journal:sent(entry)
  local record = {
    id = M.new_id(), state = "sent", at = now(), at_epoch = os.time(), operation = entry.operation,
    bound = entry.bound, values = entry.values, price_cents = entry.price and entry.price.cents,
    estimate = entry.estimate or nil, max_total_cents = entry.max_total and entry.max_total.cents,
    before = entry.before,
  }
  local ok, err = self:append(record)
  if not ok then return nil, err end
  return record.id
end

--- Record how the spend `id` ended: "done" (with what it charged, if
-- known), "not_done" or "unknown"; `note` says why.
function Journal:ended(id, how, charged, note)
  return self:append({ id = id, state = how, ended_at = now(), charged_cents = charged and charged.cents or nil,
    note = note })
end

--- Every entry, its lines merged by id, in the order first written; and
-- the lines that could not be read ({ line = n, text = … }): a last line
-- torn by a crash, or anything else. A missing file is an empty journal.
function Journal:read()
  local f = io.open(self.path, "r")
  if not f then return {}, {} end
  local entries, by_id, bad, n = {}, {}, {}, 0
  for line in f:lines() do
    n = n + 1
    local record = line ~= "" and json.decode(line)
    if type(record) == "table" and type(record.id) == "string" and type(record.state) == "string" then
      local e = by_id[record.id]
      if not e then
        e = { id = record.id }
        by_id[record.id] = e
        entries[#entries + 1] = e
      end
      for k, v in pairs(record) do e[k] = revive(v) end
    elseif line ~= "" then
      bad[#bad + 1] = { line = n, text = line:sub(1, 200) }
    end
  end
  f:close()
  return entries, bad
end

--- The entries not settled: "sent" (no answer recorded: the run died, or
-- is still running) and "unknown".
function Journal:pending()
  local entries, bad = self:read()
  local out = {}
  for _, e in ipairs(entries) do
    if not SETTLED[e.state] then out[#out + 1] = e end
  end
  return out, bad
end

--- Rewrite the file without its settled entries, once there are more
-- than COMPACT_AT of them (atomically: the old file or the new one).
function Journal:compact()
  local entries = self:read()
  local settled, lines = 0, {}
  for _, e in ipairs(entries) do
    if SETTLED[e.state] then
      settled = settled + 1
    else
      lines[#lines + 1] = json.encode(plain(e))
    end
  end
  if settled <= M.COMPACT_AT then return true end
  local ok, why = core().replace(self.path, #lines > 0 and (concat(lines, "\n") .. "\n") or "")
  if not ok then return nil, errors.invalid("journal", "cannot be compacted: " .. tostring(why)) end
  return true
end

M.plain = plain

return M
