--- Location handlers for spec/nginx_jobs_spec.lua (two_workers.conf.template):
-- a top-up under the run lock, shared by nginx's workers through
-- `lua_shared_dict proxyshard_locks`, and which worker serves a connection.
-- Answers are JSON with a Content-Length, so that the spec can keep its
-- connections alive (each one stays on its worker).
local ngx = ngx -- luacheck: ignore (the nginx global)
local cjson = require "cjson"
local proxyshard = require "proxyshard"

local tonumber = tonumber
local tostring = tostring

local M = {}

local config = {} -- base_url, token, location: set by init_by_lua

--- Called from init_by_lua_block with the sandbox's URL and token.
function M.configure(opts)
  config = opts
end

local function now()
  ngx.update_time()
  return ngx.now()
end

local function answer(t)
  local body = cjson.encode(t)
  ngx.header.content_type = "application/json"
  ngx.header.content_length = #body
  ngx.print(body)
end

--- {"worker": ngx.worker.id(), "pid": ngx.worker.pid()}
function M.worker()
  answer { worker = ngx.worker.id(), pid = ngx.worker.pid() }
end

--- order 12345:top_up_p0f(6, { max_total = "5.00", lock = true, lock_wait =
-- ?lock_wait (default 0) }), with a client made for this request
-- (transport auto: inside nginx the non-blocking one). The answer: worker,
-- pid, transport, started and ended (ngx.now), and bought, free_before,
-- free_after or the error's kind, message and holder.
function M.top_up()
  local started = now()
  local client = proxyshard.new {
    token = config.token,
    base_url = config.base_url,
    subrequest_location = config.location, -- used only without lua-resty-http
    timeout = 30,
    connect_timeout = 5,
  }
  local out = { worker = ngx.worker.id(), pid = ngx.worker.pid(), started = started,
    transport = client.transport.resty and "resty" or "subrequest" }
  local order, err = client:order(12345)
  local r
  if order then
    r, err = order:top_up_p0f(6, { max_total = "5.00", lock = true, lock_wait = tonumber(ngx.var.arg_lock_wait) or 0 })
  end
  out.ended = now()
  if r then
    out.ok, out.bought, out.free_before, out.free_after = true, r.bought, r.free_before, r.free_after
  else
    out.ok, out.kind, out.message, out.holder, out.text = false, err.kind, err.message, err.holder, tostring(err)
  end
  client:close()
  answer(out)
end

return M
