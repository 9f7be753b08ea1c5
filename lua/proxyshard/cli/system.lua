--- What the command needs from the system, in one table that the specs
-- can replace: its streams, the environment, whether a descriptor is a
-- terminal, and running a program.
-- @module proxyshard.cli.system
local M = {}

-- A write that failed (a full disk, a closed pipe): raised, so that the
-- command stops there, and reported by proxyshard.cli's protected_main as
-- one line and its own exit status.
local OutputError = { __name = "proxyshard.output_error" }
OutputError.__tostring = function(e) return "cannot write to " .. e.stream .. ": " .. e.why end

--- Is `e` the error of a failed write?
function M.is_output_error(e)
  return getmetatable(e) == OutputError
end

local function writer(file, stream)
  return function(text)
    local ok, why = file:write(text)
    -- a full disk shows only when the buffer is flushed
    if ok then ok, why = file:flush() end
    if not ok then error(setmetatable({ stream = stream, why = tostring(why) }, OutputError), 0) end
  end
end

--- The real system: stdout, stderr and stdin of this process.
function M.real()
  local ttys = {}
  return {
    out = writer(io.stdout, "standard output"),
    err = writer(io.stderr, "standard error"),
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
    --- the permission bits of the file `path` (0644 is 420), or nil: one
    -- `stat` (GNU's, else BSD's), asked only of a token file
    file_mode = function(path)
      local q = "'" .. path:gsub("'", "'\\''") .. "'"
      local p = io.popen("stat -c %a " .. q .. " 2>/dev/null || stat -f %Lp " .. q .. " 2>/dev/null")
      if not p then return nil end
      local out = p:read("a") or ""
      p:close()
      local digits = out:match("^%s*([0-7]+)%s*$")
      return digits and tonumber(digits, 8) or nil
    end,
    --- seconds since the epoch: what "days left" counts from
    now = os.time,
  }
end

return M
