--- Shared by the bench's Lua drivers (Lua 5.4 and LuaJIT): the arguments,
-- the timed loop, VmHWM and VmRSS, and the result line scripts/bench.sh reads.
--
-- Every driver takes URL N TOTAL WARMUP: WARMUP requests first (untimed:
-- the connection, the JIT), then N timed, then more up to TOTAL (>= N), and
-- prints one line
--   result n=N wall=S cpu=S hwm_n=KB hwm_end=KB
-- wall from the driver's monotonic clock, cpu from os.clock() (the
-- process's CPU time, user + system), hwm_* VmHWM from /proc/self/status
-- after N and after TOTAL requests.
local M = {}

local format = string.format

-- A field of /proc/self/status in kB ("VmHWM", "VmRSS"), or -1.
local function status_kb(field)
  local f = io.open("/proc/self/status")
  if not f then return -1 end
  local status = f:read("*a")
  f:close()
  return tonumber(status:match(field .. ":%s*(%d+)")) or -1
end

--- VmHWM (peak resident set) of this process in kB, or -1.
function M.hwm() return status_kb("VmHWM") end

--- VmRSS (resident set now) of this process in kB, or -1.
function M.rss() return status_kb("VmRSS") end

--- Fail the run: a message on stderr, exit status 1.
function M.fail(what)
  io.stderr:write("bench driver: ", tostring(what), "\n")
  os.exit(1)
end

--- URL, N, TOTAL, WARMUP from the command line (arg[1..4]).
function M.args()
  local url, n, total, warmup = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
  if not (url and n and total and warmup) then M.fail("usage: driver URL N TOTAL WARMUP") end
  if total < n then total = n end
  return url, n, total, warmup
end

--- host, port, path of an http:// URL.
function M.split(url)
  local host, port, path = url:match("^http://([^:/]+):(%d+)(/.*)$")
  if not host then M.fail("not an http://host:port/path URL: " .. url) end
  return host, tonumber(port), path
end

--- Run `step` (one request: true, or nil and a message) WARMUP + TOTAL
-- times, timing N of them with `clock` (seconds, monotonic), and print the
-- result line.
function M.run(step, clock, n, total, warmup)
  local ok, err
  for _ = 1, warmup do
    ok, err = step()
    if not ok then M.fail(err) end
  end
  local w0, c0 = clock(), os.clock()
  for _ = 1, n do
    ok, err = step()
    if not ok then M.fail(err) end
  end
  local wall, cpu = clock() - w0, os.clock() - c0
  local hwm_n = M.hwm()
  for _ = n + 1, total do
    ok, err = step()
    if not ok then M.fail(err) end
  end
  print(format("result n=%d wall=%.6f cpu=%.6f hwm_n=%d hwm_end=%d", n, wall, cpu, hwm_n, M.hwm()))
end

return M
