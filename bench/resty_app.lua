--- The two handlers of the bench's nginx rows (bench/nginx-app.conf.template):
-- an app nginx, one worker, whose handlers each make one request to the
-- bench's nginx (the upstream: the calculate path's fixed answer) and say
-- what they got; wrk drives them.
--   /quote  client:order(12345):addon("p0f_slots"):quote(2) through
--           proxyshard's lua-resty-http transport (transport = "resty"),
--           the client made once per worker (init_worker, kept here)
--   /bare   lua-resty-http's request_uri to the same URL with the same
--           three headers, kept alive, and cjson.decode of the answer:
--           what any handler over lua-resty-http spends at least
-- Both answer 200 with the quote's total in cents, or 502 and why.
local proxyshard = require "proxyshard"
local http = require "resty.http"
local cjson = require "cjson"

local ngx = ngx -- luacheck: ignore (the nginx global)

local pcall = pcall
local type = type
local tostring = tostring

local M = {}

local CALC = "/user/api/orders/12345/addons/calculate?addon_key=p0f_slots&add_qty=2"
local HEADERS = {
  ["Accept"] = "application/json",
  ["User-Agent"] = "proxyshard-lua/bench (lua-resty-http)",
  ["Authorization"] = "Bearer bench-token",
}

local client, bare_url, bare_opts

--- Once per worker (init_worker_by_lua): the client, and the bare URL.
function M.init(base_url)
  client = proxyshard.new { token = "bench-token", base_url = base_url, transport = "resty" }
  bare_url = base_url .. CALC
  bare_opts = { method = "GET", headers = HEADERS, keepalive_timeout = 60000, keepalive_pool = 16 }
end

local function fail(what)
  ngx.status = 502
  ngx.say(what)
end

function M.quote()
  local quote, err = client:order(12345):addon("p0f_slots"):quote(2)
  if not quote then return fail(tostring(err)) end
  ngx.say(quote.total.cents)
end

function M.bare()
  local httpc = http.new()
  local res, err = httpc:request_uri(bare_url, bare_opts)
  if not res then return fail(tostring(err)) end
  if res.status ~= 200 then return fail("status " .. tostring(res.status)) end
  local ok, t = pcall(cjson.decode, res.body)
  if not ok or type(t) ~= "table" then return fail("not JSON: " .. tostring(t)) end
  ngx.say(t.add_total)
end

return M
