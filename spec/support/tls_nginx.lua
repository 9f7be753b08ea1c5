--- A small nginx (Debian's, with libnginx-mod-http-lua) serving HTTPS on
-- 127.0.0.1 with a certificate made for the run, on two ports: one that
-- offers HTTP/2 (ALPN h2) and one HTTP/1.1 only. Every path answers, after
-- ?ms= milliseconds (ngx.sleep, default 50), JSON saying which connection
-- and protocol carried the request and how many requests were under way
-- when it began, itself included: {"conn": N, "protocol": "HTTP/2.0",
-- "inflight": K} (the requests that overlapped, counted by the server:
-- no clock in the spec).
-- One process (master_process off), as the user running the spec.
--
--   local server = tls_nginx.start()   -- { h2_url, h1_url, ca_file, stop() }; nil, why when it cannot
local shell = require "support.shell"

local M = {}

local LUA_MODULE = "/usr/lib/nginx/modules/ngx_http_lua_module.so"

local CONFIG = [[
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
daemon off;
master_process off;
pid @DIR@/nginx.pid;
error_log @DIR@/error.log notice;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path @DIR@/body;
  proxy_temp_path @DIR@/proxy;
  fastcgi_temp_path @DIR@/fastcgi;
  uwsgi_temp_path @DIR@/uwsgi;
  scgi_temp_path @DIR@/scgi;
  ssl_certificate @DIR@/cert.pem;
  ssl_certificate_key @DIR@/key.pem;
  http2_max_concurrent_streams 128;
  server {
    listen 127.0.0.1:@H2_PORT@ ssl http2;
    location / { content_by_lua_block { require("tls_nginx_answer")() } }
  }
  server {
    listen 127.0.0.1:@H1_PORT@ ssl;
    location / { content_by_lua_block { require("tls_nginx_answer")() } }
  }
  lua_package_path "@DIR@/?.lua;;";
}
]]

local ANSWER = [[
local inflight = 0 -- one worker: every request of the run counts here
return function()
  inflight = inflight + 1
  local seen = inflight
  ngx.sleep((tonumber(ngx.var.arg_ms) or 50) / 1000)
  inflight = inflight - 1
  ngx.header.content_type = "application/json"
  ngx.say(('{"conn":%d,"protocol":"%s","inflight":%d}'):format(tonumber(ngx.var.connection),
    ngx.var.server_protocol, seen))
end
]]

local function get(port, ca_file)
  local ok, core = pcall(require, "proxyshard.core")
  if not ok then return false end
  local s = core.session { timeout_ms = 1000, ca_file = ca_file }
  local res = s:perform { method = "GET", url = ("https://127.0.0.1:%d/?ms=0"):format(port) }
  s:close()
  return res ~= nil and res.status == 200
end

function M.start()
  local nginx = io.open("/usr/sbin/nginx") and "/usr/sbin/nginx" or "nginx"
  if not io.open(LUA_MODULE) then return nil, "nginx with libnginx-mod-http-lua is not installed" end
  local dir = shell.tmpdir("proxyshard-tls-nginx")
  local cert, key = dir .. "/cert.pem", dir .. "/key.pem"
  if not shell.sh(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      .. "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s >/dev/null 2>&1")
      :format(key, cert)) then
    shell.sh("rm -rf " .. shell.q(dir))
    return nil, "openssl could not make a certificate"
  end
  shell.write_file(dir .. "/tls_nginx_answer.lua", ANSWER)
  local last
  for _ = 1, 3 do -- a free port may be taken in between: try others
    local h2, h1 = shell.free_port(), shell.free_port()
    local conf = CONFIG:gsub("@DIR@", dir):gsub("@H2_PORT@", tostring(h2)):gsub("@H1_PORT@", tostring(h1))
    shell.write_file(dir .. "/nginx.conf", conf)
    -- `echo $$` then `exec`: the printed pid is nginx's
    local pipe = assert(io.popen(("echo $$; exec %s -p %s/ -c %s/nginx.conf -e %s/error.log >%s/stderr.log 2>&1 "
      .. "</dev/null"):format(nginx, dir, dir, dir, dir)))
    local pid = assert(tonumber(pipe:read("*l")))
    local up = shell.wait_for(function() return get(h2, cert) and get(h1, cert) end, 10)
    local server = {
      h2_url = "https://127.0.0.1:" .. h2, h1_url = "https://127.0.0.1:" .. h1, ca_file = cert,
    }
    function server.stop()
      shell.sh("kill -QUIT " .. pid .. " 2>/dev/null")
      pipe:close() -- waits for it
      shell.sh("rm -rf " .. shell.q(dir))
    end
    if up then return server end
    last = (shell.read_file(dir .. "/stderr.log") or "") .. (shell.read_file(dir .. "/error.log") or "")
    shell.sh("kill -KILL " .. pid .. " 2>/dev/null")
    pipe:close()
  end
  shell.sh("rm -rf " .. shell.q(dir))
  return nil, "nginx did not start: " .. tostring(last)
end

return M
