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

--- bin/proxyshard `args` to its end, after the shell words `prefix` (an
-- `env -i ...` line), its stderr kept in the folder `dir`: stdout, stderr,
-- exit status.
function M.run_in(prefix, args, dir)
  local out, _, code = shell.run(("cd %s && %s lua5.4 bin/proxyshard %s 2>%s/err")
    :format(q(ROOT), prefix, args, q(dir)))
  return out, shell.read_file(dir .. "/err") or "", code
end

--- bin/proxyshard `args` in the background, after the shell words
-- `prefix` (an `env -i ...` line), its output in the folder `dir`:
-- { sh = the pid of the shell around it, dir }.
function M.start(prefix, args, dir)
  shell.sh("mkdir -p " .. q(dir))
  shell.sh(("cd %s && (%s lua5.4 bin/proxyshard %s >%s/out 2>%s/err; echo $? >%s/code) & echo $! >%s/pid")
    :format(q(ROOT), prefix, args, q(dir), q(dir), q(dir), q(dir)))
  return { dir = dir, sh = tonumber(shell.read_file(dir .. "/pid")) }
end

--- Wait for a run M.start started to end: stdout, stderr, exit status.
function M.finish(p)
  local code = shell.wait_for(function()
    local text = shell.read_file(p.dir .. "/code")
    return text and tonumber(text)
  end, 30)
  assert(code, "the run did not end")
  return shell.read_file(p.dir .. "/out"), shell.read_file(p.dir .. "/err"), code
end

return M
