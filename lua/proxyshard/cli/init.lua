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
-- @module proxyshard.cli
local parser = require "proxyshard.cli.parser"
local commands = require "proxyshard.cli.commands"
local context = require "proxyshard.cli.context"
local system = require "proxyshard.cli.system"
local exit = require "proxyshard.cli.exit"
local run = require "proxyshard.cli.run"
local render = require "proxyshard.cli.render"

local M = {}

-- The command named in argv (for the hint after a usage error), or nil.
local function named(argv)
  for _, a in ipairs(argv) do
    if commands.find(a) then return a end
  end
end

--- Run the command line `argv` (a list of strings) on `sys` (default: the
-- real system, proxyshard.cli.system), with `ctx` (default: a new
-- proxyshard.cli.context): the exit status.
function M.main(argv, sys, ctx)
  sys = sys or system.real()
  ctx = ctx or context.new(sys, argv)
  local ok, args = parser.parse(argv)
  if ok == "help" then
    ctx:out(args .. "\n")
    return exit.OK
  end
  if not ok then
    local command = named(argv)
    ctx:err(("proxyshard: %s\nRun 'proxyshard %s--help' for the usage.\n"):format(args,
      command and (command .. " ") or ""))
    for _, a in ipairs(argv) do
      if a == "--json" then -- one document even so (nothing was parsed, so look for the flag)
        ctx:out(render.json({ ok = false, command = command, exit = exit.USAGE,
          error = { kind = "usage", message = args } }))
        break
      end
    end
    return exit.USAGE
  end
  ctx:configure(args)
  local command = commands.find(args.command)
  ctx.command = command.name
  if command.row then return run.run(ctx, command, args) end
  return command.run(ctx, args)
end

--- main, with a Lua error (a bug) reported as one line and status 1 (the
-- message redacted like everything else).
function M.protected_main(argv, sys)
  sys = sys or system.real()
  local ctx = context.new(sys, argv)
  local ok, code = xpcall(M.main, debug.traceback, argv, sys, ctx)
  if ok then return code end
  ctx:err("proxyshard: internal error (please report it): " .. tostring(code) .. "\n")
  return exit.INTERNAL
end

return M
