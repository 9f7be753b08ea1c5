--- Running bin/proxyshard as a process, for the specs that drive the
-- command: with only the environment given (env -i), a state directory and
-- a HOME of its own (no config file but PROXYSHARD_CONFIG's), from the
-- checkout. Returns stdout, stderr and the exit status.
local shell = require "support.shell"

local q = shell.q
local ROOT = shell.run("pwd"):gsub("%s+$", "")

local M = { ROOT = ROOT }

--- Run `args` (one shell string) with `env` (name -> value) and `stdin`
-- (text, or nil for /dev/null).
function M.run(args, env, stdin)
  local dir = shell.tmpdir("proxyshard-command")
  env = env or {}
  local words = {}
  for k, v in pairs(env) do words[#words + 1] = k .. "=" .. q(v) end
  -- the run's lock and journal, and its home, its own
  if not env.PROXYSHARD_STATE_DIR then words[#words + 1] = "PROXYSHARD_STATE_DIR=" .. q(dir .. "/state") end
  if not env.HOME then words[#words + 1] = "HOME=" .. q(dir) end
  if stdin then shell.write_file(dir .. "/stdin", stdin) end
  local cmd = ("cd %s && env -i PATH=%s %s lua5.4 bin/proxyshard %s 2>%s/stderr <%s"):format(q(ROOT),
    q(os.getenv("PATH")), table.concat(words, " "), args, q(dir), stdin and q(dir .. "/stdin") or "/dev/null")
  local out, _, code = shell.run(cmd)
  local err = shell.read_file(dir .. "/stderr")
  shell.sh("rm -rf " .. q(dir))
  return out, err, code
end

return M
