--- Running a real nginx for the specs: Debian's nginx with
-- libnginx-mod-http-lua, by hand in a temporary prefix, a child of the spec,
-- with a configuration rendered from a template; plain HTTP to it over
-- LuaSocket, one-shot (HTTP/1.0) or on a kept-alive connection (HTTP/1.1,
-- which stays on the worker that accepted it). Used by spec/nginx_spec.lua
-- and spec/nginx_jobs_spec.lua.
-- Requires from busted (lpath spec/?.lua): require "support.nginx.harness".
local socket = require "socket"
local shell = require "support.shell"

local sh, run, read_file, write_file = shell.sh, shell.run, shell.read_file, shell.write_file
local wait_for, free_port = shell.wait_for, shell.free_port

local M = {}

M.ROOT = run("pwd"):gsub("%s+$", "")
M.NGINX = io.open("/usr/sbin/nginx") and "/usr/sbin/nginx" or "nginx"
M.LUA_MODULE = "/usr/lib/nginx/modules/ngx_http_lua_module.so"

local function is_file(path)
  local f = io.open(path, "rb")
  if f then f:close() end
  return f ~= nil
end

--- Why nginx with its Lua module cannot run here, or nil when it can.
function M.missing()
  if not sh(shell.q(M.NGINX) .. " -v >/dev/null 2>&1") then
    return "no nginx (" .. M.NGINX .. "): run scripts/setup.sh --tests as root"
  end
  if not is_file(M.LUA_MODULE) then
    return "no " .. M.LUA_MODULE .. " (libnginx-mod-http-lua): run scripts/setup.sh --tests as root"
  end
  return nil
end

--- Build proxyshard.core for LuaJIT (scripts/build-luajit.sh; up to date in
-- a fraction of a second; nginx must not load a stale one): true, or nil
-- and why not.
function M.build_luajit()
  local out, ok = run("scripts/build-luajit.sh 2>&1 >/dev/null")
  if not ok then return nil, "scripts/build-luajit.sh failed: " .. out end
  return true
end

--- The lua_package_path entries for the real lua-resty-http and
-- lua-resty-string ("dir/?.lua;" each), from PROXYSHARD_RESTY_HTTP_LIB: a
-- ";"-list of directories, relative to the checkout or absolute, each one
-- either a lib directory (holding resty/http.lua or resty/string.lua) or a
-- folder of unpacked modules, each with its lib/. Or nil and why not.
function M.resty_path()
  local value = os.getenv("PROXYSHARD_RESTY_HTTP_LIB")
  if not value or value == "" then return nil, "PROXYSHARD_RESTY_HTTP_LIB is not set" end
  local dirs = {}
  for entry in value:gmatch("[^;]+") do
    local dir = entry:sub(1, 1) == "/" and entry or (M.ROOT .. "/" .. entry)
    dir = run("realpath -m " .. shell.q(dir)):gsub("%s+$", "")
    if is_file(dir .. "/resty/http.lua") or is_file(dir .. "/resty/string.lua") then
      dirs[#dirs + 1] = dir
    else
      for lib in run("ls -d " .. shell.q(dir) .. "/*/lib 2>/dev/null"):gmatch("[^\n]+") do dirs[#dirs + 1] = lib end
    end
  end
  local found, entries = {}, {}
  for _, dir in ipairs(dirs) do
    for _, m in ipairs { "http", "string" } do
      if is_file(dir .. "/resty/" .. m .. ".lua") then found[m] = true end
    end
    entries[#entries + 1] = dir .. "/?.lua;"
  end
  for _, m in ipairs { "http", "string" } do
    if not found[m] then
      return nil, ("PROXYSHARD_RESTY_HTTP_LIB=%s has no resty/%s.lua (lua-resty-%s)"):format(value, m, m)
    end
  end
  return table.concat(entries)
end

--- Is the process running (not gone, not a zombie)?
function M.alive(pid)
  local stat = read_file("/proc/" .. pid .. "/stat") or ""
  local state = stat:match("^%d+ %b() (%a)")
  return state ~= nil and state ~= "Z"
end
local alive = M.alive

--- One HTTP/1.0 GET over LuaSocket: status, body, seconds taken; or nil, err.
function M.http_get(port, path, headers, timeout)
  local c = socket.tcp()
  c:settimeout(timeout or 20)
  local t0 = socket.gettime()
  local ok, err = c:connect("127.0.0.1", port)
  if not ok then
    c:close()
    return nil, err
  end
  local extra = {}
  for name, value in pairs(headers or {}) do extra[#extra + 1] = name .. ": " .. value .. "\r\n" end
  c:send("GET " .. path .. " HTTP/1.0\r\nHost: 127.0.0.1\r\n" .. table.concat(extra) .. "\r\n")
  local raw, rerr = c:receive("*a")
  c:close()
  if not raw then return nil, rerr end
  local status = tonumber(raw:match("^HTTP/1%.%d (%d%d%d)"))
  return status, raw:match("\r\n\r\n(.*)$") or "", socket.gettime() - t0
end

--- A kept-alive HTTP/1.1 connection to nginx on `port`: every request on
-- it is served by the worker that accepted it. c:send(path) writes a GET,
-- c:receive() reads its answer (status, body; or nil, err), c:get(path)
-- does both, c:close().
local Conn = {}
Conn.__index = Conn

function M.connect(port, timeout)
  local s = socket.tcp()
  s:settimeout(timeout or 30)
  local ok, err = s:connect("127.0.0.1", port)
  if not ok then
    s:close()
    return nil, err
  end
  return setmetatable({ sock = s }, Conn)
end

function Conn:send(path)
  return self.sock:send("GET " .. path .. " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
end

function Conn:receive()
  local s = self.sock
  local line, err = s:receive("*l")
  if not line then return nil, err end
  local status = tonumber(line:match("^HTTP/1%.%d (%d%d%d)"))
  local length, chunked, close
  while true do
    line, err = s:receive("*l")
    if not line then return nil, err end
    if line == "" then break end
    local name, value = line:match("^([^:]+):%s*(.-)%s*$")
    name = name and name:lower()
    if name == "content-length" then length = tonumber(value) end
    if name == "transfer-encoding" and value:lower():find("chunked", 1, true) then chunked = true end
    if name == "connection" and value:lower() == "close" then close = true end
  end
  local body
  if chunked then
    local parts = {}
    while true do
      line, err = s:receive("*l")
      if not line then return nil, err end
      local size = tonumber(line:match("^%x+"), 16)
      if not size then return nil, "bad chunk size: " .. line end
      if size == 0 then
        repeat line = s:receive("*l") until not line or line == "" -- the trailer
        break
      end
      parts[#parts + 1], err = s:receive(size)
      if not parts[#parts] then return nil, err end
      s:receive("*l")
    end
    body = table.concat(parts)
  elseif length then
    body, err = s:receive(length)
    if not body then return nil, err end
  else
    body = s:receive("*a") or ""
    close = true
  end
  if close then self:close() end
  return status, body
end

function Conn:get(path)
  local ok, err = self:send(path)
  if not ok then return nil, err end
  return self:receive()
end

function Conn:close()
  if self.sock then self.sock:close() end
  self.sock = nil
end

--- Stop nginx `n` (start_nginx's): QUIT, then KILL what is left; the prefix goes.
function M.stop_nginx(n)
  local workers = {}
  for pid in run("pgrep -P " .. n.pid):gmatch("%d+") do workers[#workers + 1] = pid end
  sh("kill -QUIT " .. n.pid .. " 2>/dev/null")
  if not wait_for(function() return not alive(n.pid) end, 15) then
    sh("kill -KILL " .. n.pid .. " 2>/dev/null")
    wait_for(function() return not alive(n.pid) end, 5)
  end
  for _, pid in ipairs(workers) do
    if alive(pid) then sh("kill -KILL " .. pid .. " 2>/dev/null") end
  end
  if not alive(n.pid) then n.pipe:close() end -- reaps it
  sh("rm -rf '" .. n.prefix .. "'")
end

-- Started as root (as CI does), nginx would run its workers as `nobody`,
-- which can read neither a checkout under /root (0700) nor the 0700 temp
-- prefix: keep the workers as the user running the spec.
local RUN_AS = run("id -u"):match("^0%s*$") and "\nuser root;\n" or ""

--- Start nginx with the configuration render(prefix, port) makes (it must
-- answer GET /health); env: "NAME=value " words for nginx. Returns { pid
-- (the master's), port, prefix, pipe }; raises when it does not start.
function M.start_nginx(render, env)
  local last
  for _ = 1, 3 do -- the free port may be taken in between: try another
    local prefix = shell.tmpdir("proxyshard-nginx")
    assert(sh("mkdir -p " .. prefix .. "/logs " .. prefix .. "/tmp"))
    local port = free_port()
    write_file(prefix .. "/nginx.conf", render(prefix, port) .. RUN_AS)
    -- `echo $$` then `exec`: the printed pid is nginx's master
    local pipe = assert(io.popen(("echo $$; exec env %s%s -p %s/ -c %s/nginx.conf -e %s/logs/error.log "
      .. ">%s/logs/stderr.log 2>&1 </dev/null"):format(env or "", M.NGINX, prefix, prefix, prefix, prefix)))
    local n = { pipe = pipe, pid = assert(tonumber(pipe:read("l"))), port = port, prefix = prefix }
    local up = wait_for(function()
      if not alive(n.pid) then return "exited" end
      return M.http_get(port, "/health", nil, 2) and "up" -- any answer
    end, 20)
    if up == "up" then return n end
    last = (read_file(prefix .. "/logs/stderr.log") or "") .. (read_file(prefix .. "/logs/error.log") or "")
    M.stop_nginx(n)
    if not last:find("Address already in use", 1, true) then break end
  end
  error("nginx did not start:\n" .. tostring(last))
end

--- The last `bytes` (default 3000) of nginx `n`'s error.log.
function M.error_log(n, bytes)
  return (read_file(n.prefix .. "/logs/error.log") or ""):sub(-(bytes or 3000))
end

--- A render function for start_nginx from the template at `path` (relative
-- to the checkout): @PREFIX@, @ROOT@ and @PORT@ are filled in, and each
-- @NAME@ from `vars` (values made strings); an unknown @NAME@ raises.
function M.template(path, vars)
  local template = assert(read_file(M.ROOT .. "/" .. path), "no " .. path)
  return function(prefix, port)
    local all = { PREFIX = prefix, ROOT = M.ROOT, PORT = tostring(port) }
    for k, v in pairs(vars or {}) do all[k] = tostring(v) end
    return (template:gsub("@([%u_]+)@", function(k) return assert(all[k], "the template wants @" .. k .. "@") end))
  end
end

return M
