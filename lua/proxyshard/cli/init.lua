--- The `proxyshard` command: `main(argv)` parses the command line
-- (proxyshard.cli.parser), runs the command and returns its exit status
-- (proxyshard.cli.exit). bin/proxyshard only calls it and exits with it.
--
--   proxyshard orders --status active
--   proxyshard order 12345
--   proxyshard quote 12345 p0f_slots 2
--   proxyshard purchase 12345 p0f_slots 2 --max-total 1.00 --reconcile
--   proxyshard top-up --free 5 --max-total 5.00 --all-active
--   proxyshard repl
--
-- What a run loads is what its command needs: --help and a usage error
-- neither the library nor libcurl (proxyshard.core), a read not the other
-- commands' modules (proxyshard.cli.parser builds only its command).
-- @module proxyshard.cli
local parser = require "proxyshard.cli.parser"
local commands = require "proxyshard.cli.commands"
local context = require "proxyshard.cli.context"
local system = require "proxyshard.cli.system"
local exit = require "proxyshard.cli.exit"

local M = {}

-- The command named in argv (for the hint after a usage error), or nil.
local function named(argv)
  for _, a in ipairs(argv) do
    if commands.find(a) then return a end
  end
end

-- main, and `before_run` called once the command line is parsed, before
-- the command runs (protected_main's signal trap: only a run needs it).
local function main(argv, sys, ctx, before_run)
  sys = sys or system.real()
  ctx = ctx or context.new(sys, argv)
  local ok, args = parser.parse(argv)
  if ok == "help" then
    ctx:out(args .. "\n")
    return exit.OK
  end
  if not ok then
    local command = named(argv)
    -- a command may exit otherwise on any failure (plan: 1, as Terraform's)
    local found = command and commands.find(command)
    local usage = found and found.failure_exit or exit.USAGE
    ctx:err(("proxyshard: %s\nRun 'proxyshard %s--help' for the usage.\n"):format(args,
      command and (command .. " ") or ""))
    for i, a in ipairs(argv) do
      -- one document even so (nothing was parsed, so look for the flag)
      if a == "--json" or a == "--output=json" or (a == "--output" and argv[i + 1] == "json") then
        ctx:write_json({ ok = false, command = command, exit = usage, error = { kind = "invalid_argument",
          message = args } })
        break
      end
    end
    return usage
  end
  local command = commands.lookup(args.command)
  ctx.command = command.name
  local configured, err = ctx:configure(args, command)
  if not configured then return ctx:fail(err) end
  if before_run then before_run() end
  if command.run then return command.run(ctx, args) end
  return require("proxyshard.cli.run").run(ctx, command, args)
end

--- Run the command line `argv` (a list of strings) on `sys` (default: the
-- real system, proxyshard.cli.system), with `ctx` (default: a new
-- proxyshard.cli.context): the exit status.
function M.main(argv, sys, ctx)
  return main(argv, sys, ctx)
end

-- Where the details of an internal error go: a file in the state
-- directory (or the temporary one), named by the time. Returns its path,
-- or nil when it could not be written.
local function keep_details(ctx, text)
  local state = require "proxyshard.jobs.state"
  local ok, dir = pcall(state.dir, ctx.settings and ctx.settings.state_dir or state.default(ctx.sys.getenv) or false)
  if not ok or not dir then dir = os.getenv("TMPDIR") or "/tmp" end
  local path = ("%s/proxyshard-error-%s-%d.txt"):format(dir, os.date("!%Y%m%dT%H%M%SZ"), math.random(1e6))
  local f = io.open(path, "w")
  if not f then return nil end
  f:write(ctx:clean(text), "\n")
  f:close()
  return path
end

-- A trapped SIGINT or SIGTERM: what to say and the status. A spend that
-- may have gone out (unknown_outcome, 4) stays 4: its journal entry says
-- so, and the next run settles it.
local function interrupted(ctx, sig, code)
  if code == exit.BY_KIND.unknown_outcome then
    ctx:err("proxyshard: interrupted: the purchase may have been made; run `proxyshard pending --settle`\n")
    return code
  end
  ctx:err(("proxyshard: interrupted (%s)\n"):format(sig == 15 and "SIGTERM" or "SIGINT"))
  return 128 + sig
end

--- main, with SIGINT and SIGTERM trapped (a transfer or a wait they cut
-- short ends as an error value, the journal keeps what was in flight) and
-- a Lua error (a bug) reported as one line, its details in a file, and
-- status 1. No traceback reaches the terminal.
function M.protected_main(argv, sys)
  sys = sys or system.real()
  local ctx = context.new(sys, argv)
  -- trapped once a command runs: loading proxyshard.core loads libcurl,
  -- which --help and a usage error do without
  local core_ok, core = false, nil
  local function trap()
    core_ok, core = pcall(require, "proxyshard.core")
    if core_ok then
      core.trap()
      core.quiet_pipe() -- a closed pipe is a failed write to report, not a silent death
    end
  end
  local ok, code = xpcall(main, debug.traceback, argv, sys, ctx, trap)
  local sig = core_ok and core.trapped()
  if sig then return interrupted(ctx, sig, ok and code or nil) end
  if ok then return code end
  if system.is_output_error(code) then
    -- stderr may be the broken one: a last try, nothing more
    pcall(io.stderr.write, io.stderr, "proxyshard: " .. tostring(code) .. "\n")
    return exit.OUTPUT
  end
  local message = tostring(code):match("^[^\n]*")
  local where = keep_details(ctx, tostring(code))
  ctx:err("proxyshard: internal error (please report it): " .. ctx:clean(message)
    .. (where and ("; the details are in " .. where) or "") .. "\n")
  return exit.INTERNAL
end

return M
