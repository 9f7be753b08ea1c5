--- The command line of `proxyshard`, on lua-argparse: the root options,
-- and a subcommand for every command of proxyshard.cli.commands. `--help`
-- does not exit the process: it is recorded, for the caller to print.
--
-- A run builds only what it needs (issue 18, item 6): the root and the
-- command named in argv; `proxyshard --help` the root with each command's
-- name and summary, all its text shows. Whatever else (a command's --help,
-- a usage error) is parsed again by the whole parser, so every message is
-- the whole parser's.
-- @module proxyshard.cli.parser
local commands = require "proxyshard.cli.commands"

local ipairs = ipairs
local format = string.format
local concat = table.concat
local sub = string.sub
local match = string.match
local gmatch = string.gmatch
local pairs = pairs
local tonumber = tonumber
local type = type
local gsub = string.gsub
local setmetatable = setmetatable

local M = {}

--- The checks whose values are a fixed list, shown in --help (from
-- proxyshard.check.validate, loaded on the first look: the root's --help
-- and a run of a plain command line need none).
M.CHOICES = setmetatable({}, { __index = function(t, check)
  local validate = require "proxyshard.check.validate"
  setmetatable(t, nil)
  t.order_status, t.proxy_type = validate.ORDER_STATUSES, validate.PROXY_TYPES
  return t[check]
end })

M.DESCRIPTION = [[
The ProxyShard User API from the shell: a command for every call of the
proxyshard library. Amounts print as dollars ($1.50), and --json prints
one JSON document with amounts as exact integer cents (fields named
<name>_cents). A command that spends money shows the quote and asks on the
terminal; --yes buys without asking, --dry-run quotes and buys nothing.]]

--- The text after the commands: the token, the environment, exit statuses.
function M.epilog()
  return concat({
    "The token: --token-file FILE (- reads it from standard input, without echo), else PROXYSHARD_TOKEN, else "
      .. "the token_file of PROXYSHARD_TOKEN_FILE or the profile; it is never printed. --debug logs the calls.",
    "Environment: PROXYSHARD_TOKEN, PROXYSHARD_BASE_URL (default "
      .. require("proxyshard.check.settings").DEFAULT_BASE_URL
      .. "), PROXYSHARD_SANDBOX_URL and PROXYSHARD_SANDBOX_TOKEN (for --sandbox); PROXYSHARD_TOKEN_FILE, "
      .. "PROXYSHARD_TIMEOUT, PROXYSHARD_CONNECT_TIMEOUT, PROXYSHARD_PROXY, PROXYSHARD_CA_FILE, "
      .. "PROXYSHARD_ALLOW_INSECURE, PROXYSHARD_STATE_DIR, PROXYSHARD_LOCK_WAIT; PROXYSHARD_PROFILE, "
      .. "PROXYSHARD_CONFIG.",
    "Config file: $XDG_CONFIG_HOME/proxyshard/config (~/.config/proxyshard/config), [profile] sections of "
      .. "key = value (base_url, token_file, timeout, connect_timeout, proxy, ca_file, allow_insecure, state_dir, "
      .. "lock_wait). A setting's flag wins over its environment variable, which wins over the profile.",
    "",
    "Exit status:",
    require("proxyshard.cli.exit").describe(),
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

-- The options every spending command has (as in SPENDING, for M.quick).
local function spending(cmd)
  cmd:flag("-y --yes", "Buy without asking (needed off a terminal)."):target("yes")
  cmd:flag("--dry-run", "Show the quote and buy nothing."):target("dry_run")
end
local SPENDING = { { flag = "-y --yes", target = "yes", flag_only = true },
  { flag = "--dry-run", target = "dry_run", flag_only = true } }

--- The root's options, in --help's order: flag (its spellings), target,
-- argname (nil: a flag), number (converted by tonumber), help. argparse
-- and M.quick read them both.
M.ROOT_OPTIONS = {
  -- `shows`: a flag that prints its text and exits, as --help does
  { flag = "--version", target = "version", flag_only = true,
    shows = function() return require("proxyshard.cli.version").line() end,
    help = "Print the version and exit (`proxyshard version`: Lua's and libcurl's too)." },
  { flag = "--json", target = "json", flag_only = true,
    help = "Print one JSON document (amounts as integer cents) instead of text." },
  { flag = "--token-file", target = "token_file", argname = "FILE",
    help = "Read the API token from FILE's first line (-: standard input, no echo)." },
  { flag = "--token", target = "token", argname = "TOKEN",
    help = "The API token itself. Other users see it in the process list (a warning is printed): prefer "
      .. "PROXYSHARD_TOKEN or --token-file." },
  { flag = "--base-url", target = "base_url", argname = "URL",
    help = "The API's address (default $PROXYSHARD_BASE_URL, else the profile's base_url, else the real API)." },
  { flag = "--sandbox", target = "sandbox", flag_only = true,
    help = "Use a running local sandbox (bin/proxyshard-sandbox): $PROXYSHARD_SANDBOX_URL or "
      .. "http://127.0.0.1:8089, and its token unless --token or --token-file is given." },
  { flag = "--timeout", target = "timeout", argname = "SECONDS", number = true,
    help = "Seconds for each call, retries included (default 30)." },
  { flag = "--state-dir", target = "state_dir", argname = "DIR",
    help = "Where the run's lock and journal of spends live (default $PROXYSHARD_STATE_DIR, "
      .. "$XDG_STATE_HOME/proxyshard or ~/.local/state/proxyshard)." },
  { flag = "--lock-wait", target = "lock_wait", argname = "SECONDS", number = true,
    help = "Seconds a spending run waits for another run of this account to end (default 0: exit 11 at once)." },
  { flag = "--profile", target = "profile", argname = "NAME",
    help = "The config file's profile to use (default $PROXYSHARD_PROFILE, else default)." },
  { flag = "--connect-timeout", target = "connect_timeout", argname = "SECONDS", number = true,
    help = "Seconds to connect, within --timeout (default 10)." },
  { flag = "--proxy", target = "proxy", argname = "URL",
    help = "Send the calls through this proxy (http, https, socks4, socks4a, socks5, socks5h URL); env: the "
      .. "environment's https_proxy/ALL_PROXY/NO_PROXY; none: no proxy (the default)." },
  { flag = "--ca-file", target = "ca_file", argname = "FILE",
    help = "The PEM file of the CAs to trust (default the system's)." },
  { flag = "--allow-insecure", target = "allow_insecure", flag_only = true,
    help = "Allow plain http to a host (or through a proxy) not on loopback: the token crosses in clear text." },
  { flag = "--debug", target = "debug", flag_only = true,
    help = "Log each request and answer on stderr (method, URL, status, time, headers, attempt), the token "
      .. "redacted." },
  { flag = "--output", target = "output", argname = "FORMAT",
    help = "json (as --json), table (the default), tsv or csv: a list's rows, one line each." },
  { flag = "--columns", target = "columns", argname = "A,B,...",
    help = "The columns of a list's table, in this order (field names: order_id,status)." },
  { flag = "--no-header", target = "no_header", flag_only = true,
    help = "A list's table without its header line." },
}

-- A negative number (-5, -1.5) where a value is expected is a value, not
-- an option: M.quick takes it so; argparse, which takes any word that
-- starts with "-" for an option, is given it marked (MARK before it) and
-- the result unmarked.
local MARK = "\0"
local function negative(a)
  return sub(a, 1, 1) == "-" and tonumber(a) ~= nil
end

local function unmark(v)
  if type(v) == "string" then return (gsub(v, "%z", "")) end -- no word of argv holds a NUL
  if type(v) == "table" then
    for k, x in pairs(v) do v[k] = unmark(x) end
  end
  return v
end

-- parser:pparse(argv), negative numbers given as values.
local function pparse(parser, argv)
  local marked = {}
  for i, a in ipairs(argv) do marked[i] = negative(a) and (MARK .. a) or a end
  local ok, result = parser:pparse(marked)
  return ok, unmark(result)
end

local function to_number(s) return tonumber(unmark(s)) end

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

-- The root parser: its options, and the description and epilog when its
-- help may be shown (`text`).
local function root(state, text)
  local parser = require("argparse")("proxyshard", M.DESCRIPTION, text and M.epilog() or nil)
  parser:command_target("command")
  parser:help_max_width(100)
  add_help(parser, state)
  for _, o in ipairs(M.ROOT_OPTIONS) do
    if o.flag_only then
      local flag = parser:flag(o.flag, o.help)
      if o.shows then flag:action(function() state.help = state.help or o.shows() end) end
    else
      local opt = parser:option(o.flag, o.help):argname(o.argname)
      if o.number then opt:convert(to_number) end
    end
  end
  return parser
end

local function add_command(parser, command, state)
  if not command.configure then return add_row_command(parser, command, state) end
  local cmd = parser:command(command.name, command.summary):target("command_" .. command.name)
  cmd:summary(command.summary)
  add_help(cmd, state)
  command.configure(cmd, { spending = spending })
  return cmd
end

--- The parser, and the state its --help flags write to ({ help = text }):
-- with every command, or with only those of the list `some` (and no
-- root help text: a run of one of them).
function M.build(some)
  local state = {}
  local parser = root(state, not some)
  for _, command in ipairs(some or commands.all()) do add_command(parser, command, state) end
  return parser, state
end

--- The parser `proxyshard --help` needs: the root with each command's
-- name and summary only (its help shows no more of them); the commands
-- take no options, not even --help, so only the root's help is recorded.
function M.build_index()
  local state = {}
  local parser = root(state, true)
  for _, command in ipairs(commands.index()) do
    parser:command(command.name, command.summary):summary(command.summary)
  end
  return parser, state
end

-- spelling -> option, for the options of `list` (flag: "-y --yes")
local function spellings(into, list, target_of)
  for _, o in ipairs(list) do
    for word in gmatch(o.flag, "%S+") do into[word] = { target = target_of(o), flag_only = o.flag_only,
      number = o.number, required = o.required, shows = o.shows } end
  end
  return into
end
local function own_target(o) return o.target end
local function name_target(o) return o.name end

--- The arguments of `argv` for `command` (one made from a row) without
-- argparse, or nil: the plain command lines only, which it parses exactly
-- as argparse would (spec/startup_spec.lua compares the two); anything
-- else (--help, --, a short option but -y, a value that starts with "-",
-- an option given twice, an argument missing or too many...) is nil, for
-- argparse to parse and word the error. Compiling argparse and building
-- its parser is most of what a run of one read would spend on its
-- command line.
function M.quick(argv, command)
  if command.configure then return nil end
  local root_options = spellings({}, M.ROOT_OPTIONS, own_target)
  local own = spellings({}, command.options, name_target)
  if command.all then own["--all"] = { target = "all", flag_only = true } end
  if command.spends then spellings(own, SPENDING, own_target) end
  local positionals = command.positionals
  local result, seen, i, n, at, in_command, many = {}, {}, 1, #argv, 0, false, nil
  while i <= n do
    local a = argv[i]
    if sub(a, 1, 1) == "-" and not negative(a) then
      local name, value = match(a, "^(%-%-[^=]+)=(.*)$")
      name = name or a
      local o = root_options[name] or (in_command and own[name])
      if not o or seen[o.target] or o.shows then return nil end
      seen[o.target] = true
      if o.flag_only then
        if value then return nil end
        result[o.target] = true
      else
        if not value then
          i = i + 1
          value = argv[i]
          if value == nil or (sub(value, 1, 1) == "-" and not negative(value)) then return nil end
        end
        if value == "" then return nil end
        if o.number then
          value = tonumber(value)
          if value == nil then return nil end
        end
        result[o.target] = value
      end
    elseif not in_command then
      if a ~= command.name then return nil end
      in_command = true
    elseif many then
      many[#many + 1] = a -- the last argument takes every word left, options among them or not
    else
      local p = positionals[at + 1]
      if not p then return nil end -- too many
      at = at + 1
      if p.many then
        many = { a }
        result[p.name] = many
      else
        result[p.name] = a
      end
    end
    i = i + 1
  end
  if not in_command or at < #positionals then return nil end
  for _, o in pairs(own) do
    if o.required and not seen[o.target] then return nil end
  end
  result.command = command.name
  result["command_" .. command.name] = true
  return result
end

-- The first word of argv, not an option, that names a command (perhaps an
-- option's value: then the parse fails and the whole parser does it
-- again), and whether -h, --help or --version (whose text is recorded as
-- help's) is there.
local function scan(argv)
  local help = false
  for _, a in ipairs(argv) do
    if a == "-h" or a == "--help" or a == "--version" then
      help = true
    elseif sub(a, 1, 1) ~= "-" then
      local command = commands.lookup(a)
      if command then return command, help end
    end
  end
  return nil, help
end

--- Parse `argv`: true, the arguments; or false, the message of a usage
-- error; or "help", the help text asked for.
function M.parse(argv)
  local command, help = scan(argv)
  if command then
    local quick = M.quick(argv, command)
    if quick then return true, quick end
    -- the root and the one command parse it as the whole parser would;
    -- its --help and any error are the whole parser's to say
    local parser, state = M.build({ command })
    local ok, result = pparse(parser, argv)
    if ok and not state.help then return ok, result end
  elseif help then
    -- no command named: only the root's --help can be recorded
    local parser, state = M.build_index()
    pparse(parser, argv)
    if state.help then return "help", state.help end
  end
  return M.parse_all(argv)
end

--- M.parse with the whole parser, every command in it.
function M.parse_all(argv)
  local parser, state = M.build()
  local ok, result = pparse(parser, argv)
  if state.help then return "help", state.help end
  return ok, result
end

return M
