--- The command line of `proxyshard`, on lua-argparse: the root options,
-- and a subcommand for every command of proxyshard.cli.commands. `--help`
-- does not exit the process: it is recorded, for the caller to print.
-- @module proxyshard.cli.parser
local argparse = require "argparse"
local commands = require "proxyshard.cli.commands"
local exit = require "proxyshard.cli.exit"
local validate = require "proxyshard.check.validate"

local ipairs = ipairs
local format = string.format
local concat = table.concat

local M = {}

--- The checks whose values are a fixed list, shown in --help.
M.CHOICES = {
  order_status = validate.ORDER_STATUSES,
  proxy_type = validate.PROXY_TYPES,
}

M.DESCRIPTION = [[
The ProxyShard User API from the shell: a command for every call of the
proxyshard library. Amounts print as dollars ($1.50), and --json prints
one JSON document with amounts as exact integer cents (fields named
<name>_cents). A command that spends money shows the quote and asks on the
terminal; --yes buys without asking, --dry-run quotes and buys nothing.]]

--- The text after the commands: the token, the environment, exit statuses.
function M.epilog()
  return concat({
    "The token: PROXYSHARD_TOKEN, or --token-file FILE (- reads it from standard input, without echo); it is "
      .. "never printed.",
    "Environment: PROXYSHARD_TOKEN, PROXYSHARD_BASE_URL (default "
      .. require("proxyshard.check.settings").DEFAULT_BASE_URL
      .. "), PROXYSHARD_SANDBOX_URL and PROXYSHARD_SANDBOX_TOKEN (for --sandbox).",
    "",
    "Exit status:",
    exit.describe(),
    "",
    "`proxyshard COMMAND --help` shows one command; `proxyshard repl` opens Lua with a client and help().",
  }, "\n")
end

local function describe_param(o)
  local parts = { o.check }
  local choices = M.CHOICES[o.check]
  if choices then parts[#parts + 1] = "one of " .. concat(choices, ", ") end
  if o.required then parts[#parts + 1] = "required" end
  return concat(parts, "; ")
end

-- A -h/--help flag that records the help of `parser` instead of exiting.
local function add_help(parser, state)
  parser:add_help(false)
  parser:flag("-h --help", "Show this help and exit."):target("help"):action(function()
    state.help = state.help or parser:get_help()
  end)
end

-- The options every spending command has.
local function spending(cmd)
  cmd:flag("-y --yes", "Buy without asking (needed off a terminal)."):target("yes")
  cmd:flag("--dry-run", "Show the quote and buy nothing."):target("dry_run")
end

local function add_row_command(parser, command, state)
  local cmd = parser:command(command.name, command.summary):target("command_" .. command.name)
  cmd:summary(command.summary)
  add_help(cmd, state)
  local row = command.row
  for _, p in ipairs(command.positionals) do
    local about = p.maker and format("%s (%s): the %s handle", p.name, p.check, p.maker) or
      format("%s (%s)", p.name, p.check)
    local choices = M.CHOICES[p.check]
    if choices then about = about .. "; one of " .. concat(choices, ", ") end
    local a = cmd:argument(p.name, about):target(p.name):argname(p.many and (p.argname .. "...") or p.argname)
    if p.many then a:args("+") end
  end
  for _, o in ipairs(command.options) do
    if o.flag_only then
      cmd:flag(o.flag, o.help):target(o.name)
    else
      local opt = cmd:option(o.flag, o.help or describe_param(o)):target(o.name):argname(o.argname)
      if o.required then opt:count(1) end
    end
  end
  if command.all then
    cmd:flag("--all", format("Read every page (%s).", command.all.method)):target("all")
  end
  if command.spends then spending(cmd) end
  cmd:epilog(format("The library call: %s.\nExample: %s", row.handle .. ":" .. row.name, row.example or "-"))
  return cmd
end

--- The parser, and the state its --help flags write to ({ help = text }).
function M.build()
  local state = {}
  local parser = argparse("proxyshard", M.DESCRIPTION, M.epilog())
  parser:command_target("command")
  parser:help_max_width(100)
  add_help(parser, state)
  parser:flag("--json", "Print one JSON document (amounts as integer cents) instead of text.")
  parser:option("--token-file", "Read the API token from FILE's first line (-: standard input, no echo).")
    :argname("FILE")
  parser:option("--token", "The API token itself. Other users see it in the process list (a warning is "
    .. "printed): prefer PROXYSHARD_TOKEN or --token-file."):argname("TOKEN")
  parser:option("--base-url", "The API's address (default $PROXYSHARD_BASE_URL, else the real API).")
    :argname("URL")
  parser:flag("--sandbox", "Use a running local sandbox (bin/proxyshard-sandbox): $PROXYSHARD_SANDBOX_URL or "
    .. "http://127.0.0.1:8089, and its token when none is given.")
  parser:option("--timeout", "Seconds for each call, retries included (default 30).")
    :argname("SECONDS"):convert(function(s) return tonumber(s) end)
  parser:option("--state-dir", "Where the run's lock and journal of spends live (default $PROXYSHARD_STATE_DIR, "
    .. "$XDG_STATE_HOME/proxyshard or ~/.local/state/proxyshard).")
    :argname("DIR")
  parser:option("--lock-wait", "Seconds a spending run waits for another run of this account to end (default 0: "
    .. "exit 11 at once).")
    :argname("SECONDS"):convert(function(s) return tonumber(s) end)
  for _, command in ipairs(commands.all()) do
    if not command.configure then
      add_row_command(parser, command, state)
    else
      local cmd = parser:command(command.name, command.summary):target("command_" .. command.name)
      cmd:summary(command.summary)
      add_help(cmd, state)
      command.configure(cmd, { spending = spending })
    end
  end
  return parser, state
end

--- Parse `argv`: true, the arguments; or false, the message of a usage
-- error; or "help", the help text asked for.
function M.parse(argv)
  local parser, state = M.build()
  local ok, result = parser:pparse(argv)
  if state.help then return "help", state.help end
  return ok, result
end

return M
