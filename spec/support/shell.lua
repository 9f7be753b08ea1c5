--- Small shell and file helpers shared by the specs (commands, files,
-- temporary directories, bounded waits). Works on Lua 5.4 and on LuaJIT
-- (Lua 5.1), where the specs also run.
local socket = require "socket"

-- Lua 5.1/LuaJIT: os.execute returns a number, io.popen's close() no exit status, read wants "*a".
local LUA51 = _VERSION == "Lua 5.1"

--- The command of the Lua running the specs ("lua5.3", "luajit"...), for a
-- child interpreter that must load the same build of the C module.
local LUA = rawget(_G, "jit") and "luajit" or "lua" .. _VERSION:match("%d+%.%d+")

--- The string quoted for a POSIX shell, as one word.
local function q(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end

--- Runs `cmd` (os.execute): true when it exits with status 0, else false.
local function sh(cmd)
  local ok = os.execute(cmd)
  return ok == true or ok == 0
end

--- Runs `cmd` (io.popen): its stdout, true or nil (exit status 0 or not), the status, "exit" or "signal".
local function run(cmd)
  if LUA51 then -- `cmd` in its own sh -c, whose status is printed after it and taken off; a signal N is "exit" 128+N
    local p = assert(io.popen("sh -c " .. q(cmd) .. "; printf '\\n%s' \"$?\""))
    local out, code = p:read("*a"):match("^(.*)\n(%d+)$")
    p:close()
    code = tonumber(code)
    return out, code == 0 or nil, code, "exit"
  end
  local p = assert(io.popen(cmd))
  local out = p:read("*a")
  local ok, how, code = p:close()
  return out, ok, code, how
end

--- The file's whole content, or nil when it cannot be opened.
local function read_file(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

--- Writes `text` to the file, replacing it; raises an error on failure.
local function write_file(path, text)
  local f = assert(io.open(path, "wb"))
  assert(f:write(text))
  f:close()
end

--- Calls fn every 20 ms, at least once and for at most `seconds`: its first truthy value, or nil.
local function wait_for(fn, seconds)
  local deadline = socket.gettime() + seconds
  while true do
    local v = fn()
    if v then return v end
    if socket.gettime() >= deadline then return nil end
    socket.sleep(0.02)
  end
end

--- A new empty directory, $TMPDIR (or /tmp)/<prefix>.XXXXXX; the caller removes it.
local function tmpdir(prefix)
  local out = run(("mktemp -d \"${TMPDIR:-/tmp}\"/%s.XXXXXX"):format(prefix or "proxyshard-spec"))
  return assert(out:match("^([^\n]+)\n$"), "mktemp -d failed")
end

--- A TCP port on 127.0.0.1 free just now (another process may take it before use).
local function free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

--- Start `cmd` in the background, a program that prints "port=N" once it
-- listens; returns { pid, port, pipe } then. stop(p) ends it.
local function start(cmd)
  local pipe = assert(io.popen(cmd .. " & echo pid=$!", "r"))
  local p = { pipe = pipe }
  while not (p.pid and p.port) do
    local line = assert(pipe:read("*l"), "did not start: " .. cmd)
    p.pid = p.pid or tonumber(line:match("^pid=(%d+)"))
    p.port = p.port or tonumber(line:match("^port=(%d+)"))
  end
  return p
end

local function stop(p)
  if p then
    os.execute("kill " .. p.pid .. " 2>/dev/null")
    p.pipe:close()
  end
end

return {
  LUA = LUA, q = q, sh = sh, run = run, read_file = read_file, write_file = write_file,
  wait_for = wait_for, tmpdir = tmpdir, free_port = free_port, start = start, stop = stop,
}
