--- The whole library: client:order(12345):addon("p0f_slots"):quote(2),
-- handles built afresh for each request, as a script would write it.
-- Runs on Lua 5.4 and LuaJIT (the bench points package.cpath at the
-- matching build of proxyshard.core).
--   usage: lua5.4 bench/quote.lua BASE_URL N TOTAL WARMUP [fake]
-- With "fake", the client's transport is an object that answers at once
-- with the calculate answer (a new response table each time, as a real
-- transport makes): what the Lua layer alone costs, with no HTTP at all.
local lib = require "lib"
local proxyshard = require "proxyshard"
local core = require "proxyshard.core"

local base_url, n, total, warmup = lib.args()
local fake = arg[5] == "fake"

local QUOTE = '{"success":true,"addon_key":"p0f_slots","catalog_id":1,"price_per_unit":30,'
  .. '"current_qty":3,"add_qty":2,"new_qty":5,"add_total":60}'

local transport
if fake then
  transport = {
    request = function()
      return { status = 200, headers = { ["content-type"] = "application/json" }, body = QUOTE }
    end,
  }
end

local client = proxyshard.new { token = "bench-token", base_url = base_url, transport = transport }

local function step()
  local quote, err = client:order(12345):addon("p0f_slots"):quote(2)
  if not quote then return nil, tostring(err) end
  return true
end

-- the answer is read for real: check it once
local quote = assert(client:order(12345):addon("p0f_slots"):quote(2))
if quote.total.cents ~= 60 or quote.new_qty ~= 5 then lib.fail("unexpected quote: " .. tostring(quote)) end

lib.run(step, core.monotonic, n, total, warmup)
