--- What the command needs from the system, in one table that the specs
-- can replace: its streams, the environment, whether a descriptor is a
-- terminal, and running a program.
-- @module proxyshard.cli.system
local M = {}

--- The real system: stdout, stderr and stdin of this process.
function M.real()
  local ttys = {}
  return {
    out = function(text) io.stdout:write(text) io.stdout:flush() end,
    err = function(text) io.stderr:write(text) io.stderr:flush() end,
    read_line = function() return io.stdin:read("l") end,
    getenv = os.getenv,
    --- is descriptor `fd` (0, 1, 2) a terminal? (asked once: `test -t` in
    -- a shell, which inherits our descriptors)
    is_tty = function(fd)
      if ttys[fd] == nil then
        local ok = os.execute("test -t " .. fd)
        ttys[fd] = ok == true or ok == 0
      end
      return ttys[fd]
    end,
    --- turn the terminal's echo off (false) or back on (true), for reading a secret
    echo = function(on) os.execute(on and "stty echo 2>/dev/null" or "stty -echo 2>/dev/null") end,
    execute = os.execute,
    open = io.open,
    --- seconds since the epoch: what "days left" counts from
    now = os.time,
  }
end

return M
