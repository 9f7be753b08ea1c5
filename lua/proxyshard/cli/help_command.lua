--- `proxyshard help [COMMAND]`: the root's help (what `proxyshard --help`
-- prints), or one command's (what `proxyshard COMMAND --help` prints): the
-- same text, from the same parse (proxyshard.cli.parser). A name that is
-- no command is a usage error (exit 2) naming the closest command.
-- @module proxyshard.cli.help_command
local commands = require "proxyshard.cli.commands"

local format = string.format

local M = {}

--- The command named closest to `name` (proxyshard.check.options.closest:
-- when it is close enough to be a typo), or nil.
function M.closest(name)
  local known = {}
  for _, c in ipairs(commands.index()) do known[c.name] = true end
  return require("proxyshard.check.options").closest(name, known)
end

--- The help text for `name` (nil: the root's), as `proxyshard [NAME]
-- --help` prints it; or nil, the message when `name` is no command.
function M.text(name)
  local argv = { "--help" }
  if name ~= nil then
    if not commands.lookup(name) then
      local near = M.closest(name)
      return nil, format("unknown command '%s'%s", name, near and format(" (did you mean '%s'?)", near) or "")
    end
    argv = { name, "--help" }
  end
  local what, text = require("proxyshard.cli.parser").parse(argv)
  assert(what == "help", "no help text for " .. (name or "the root"))
  return text
end

--- Whether the parser is built for a shell's completion script
-- (proxyshard.cli.completion): then `help` is marked as argparse marks
-- its own help command (add_help_command; the field is argparse 0.7's),
-- so that bash, zsh and fish complete a command name after it. A real run
-- takes any word, to refuse a wrong one with the closest name.
M.completing = false

--- The command (see proxyshard.cli.commands).
M.command = {
  name = "help",
  summary = "the help of proxyshard (as --help), or of one command (as COMMAND --help)",
  usage = "proxyshard help [COMMAND]",
}

function M.command.configure(cmd)
  cmd:argument("name", "the command whose help to show (none: the root's)"):args("?"):argname("COMMAND")
    :target("name")
  if M.completing then cmd._is_help_command = true end
  cmd:epilog("`proxyshard help orders` is `proxyshard orders --help`. The manual page: `proxyshard man`.")
end

function M.command.run(ctx, args)
  local text, why = M.text(args.name)
  if not text then
    ctx:err(format("proxyshard: %s\nRun 'proxyshard --help' for the commands.\n", why))
    if ctx.json then
      ctx:write_json({ ok = false, command = "help", exit = 2, error = { kind = "invalid_argument", message = why } })
    end
    return require("proxyshard.cli.exit").USAGE
  end
  ctx:out(text .. "\n")
  return 0
end

return M
