--- `proxyshard man`: the manual page proxyshard(1), in roff (man(7)
-- macros), made from what --help is made from: the description and root
-- options of proxyshard.cli.parser, each command's usage and summary
-- (proxyshard.cli.commands), the exit statuses (proxyshard.cli.exit).
-- Nothing of it is written by hand twice, and none of it needs argparse
-- or libcurl: the rock's build makes the page with scripts/man.lua
-- (CMake's PROXYSHARD_MAN), on Lua 5.4 as the command runs.
--
--   proxyshard man > proxyshard.1 && man -l proxyshard.1
-- @module proxyshard.cli.man
local ipairs = ipairs
local format = string.format
local concat = table.concat
local gsub = string.gsub
local gmatch = string.gmatch
local upper = string.upper

local M = {}

--- Text as roff: backslashes and hyphens escaped (every "-" an ASCII
-- minus, as options need), `code` in bold, and no line that starts with
-- a control character.
function M.escape(text)
  text = gsub(text, "\\", "\\e")
  text = gsub(text, "%-", "\\-")
  text = gsub(text, "`([^`]*)`", "\\fB%1\\fR")
  text = gsub(text, "\n%s*", "\n")
  text = gsub(text, "\n([.'])", "\n\\&%1")
  text = gsub(text, "^([.'])", "\\&%1")
  return text
end
local esc = M.escape

-- "-y --yes" as bold spellings, then the argument in italics.
local function option_tag(flag, argname)
  local words = {}
  for w in gmatch(flag, "%S+") do words[#words + 1] = "\\fB" .. esc(w) .. "\\fR" end
  local tag = concat(words, ", ")
  if argname then tag = tag .. " \\fI" .. esc(argname) .. "\\fR" end
  return tag
end

-- A usage line: the command in bold, the words in capitals (what is
-- given: ORDER_ID, DOLLARS) in italics.
local function usage_tag(usage)
  local name, rest = usage:match("^(proxyshard %S+)%s*(.*)$")
  if not name then return esc(usage) end
  rest = gsub(esc(rest), "%f[%w_]%u[%u%d_]*%f[^%w_]", "\\fI%0\\fR")
  return "\\fB" .. esc(name) .. "\\fR" .. (rest ~= "" and (" " .. rest) or "")
end

-- A sentence: the first letter a capital, a full stop at its end.
local function sentence(text)
  text = gsub(text, "^%l", upper)
  if not text:find("[.!?]$") then text = text .. "." end
  return text
end

-- Whether the root has the option spelled `spelling`.
local function root_has(parser, spelling)
  for _, o in ipairs(parser.ROOT_OPTIONS) do
    for w in gmatch(o.flag, "%S+") do
      if w == spelling then return true end
    end
  end
  return false
end

--- The environment the command reads: { name, what }. Each setting's
-- variable comes from proxyshard.cli.context's ENV (setting -> variable),
-- described by the root option of that setting.
function M.environment(parser)
  local settings = require "proxyshard.check.settings"
  local context = require "proxyshard.cli.context"
  local profiles = root_has(parser, "--profile")
  local env = context.ENV or { base_url = "PROXYSHARD_BASE_URL", state_dir = "PROXYSHARD_STATE_DIR" }
  local list = {
    { "PROXYSHARD_TOKEN", "The API token, when neither --token-file nor --token is given"
      .. (env.token_file and (" (it comes before " .. env.token_file .. ")") or "") .. ". It is never printed." },
  }
  for _, o in ipairs(parser.ROOT_OPTIONS) do
    local name = env[o.target]
    if name then
      list[#list + 1] = { name, format("As %s, when it is not given%s%s.", o.flag:match("%S+$"),
        profiles and "; it wins over the config file's profile" or "",
        o.target == "base_url" and (" (default " .. settings.DEFAULT_BASE_URL .. ")") or "") }
    end
  end
  list[#list + 1] = { "PROXYSHARD_SANDBOX_URL", "With --sandbox, the sandbox's address (default "
    .. context.SANDBOX_URL .. ")." }
  list[#list + 1] = { "PROXYSHARD_SANDBOX_TOKEN", "With --sandbox and no token given, the sandbox's token "
    .. "(default " .. context.SANDBOX_TOKEN .. ")." }
  if profiles then
    list[#list + 1] = { "PROXYSHARD_PROFILE", "The config file's profile, when --profile is not given "
      .. "(default: default)." }
    list[#list + 1] = { "PROXYSHARD_CONFIG", "The config file's path (see FILES)." }
    list[#list + 1] = { "XDG_CONFIG_HOME", "The config file is $XDG_CONFIG_HOME/proxyshard/config when "
      .. "PROXYSHARD_CONFIG is not set." }
  end
  list[#list + 1] = { "XDG_STATE_HOME", "The state directory is $XDG_STATE_HOME/proxyshard when neither "
    .. "--state-dir nor " .. (env.state_dir or "PROXYSHARD_STATE_DIR") .. " names one." }
  list[#list + 1] = { "HOME", "The state directory is ~/.local/state/proxyshard when nothing else names it"
    .. (profiles and ", and the config file ~/.config/proxyshard/config." or ".") }
  return list
end

--- The files the command reads and writes: { path, what }.
function M.files(parser)
  local list = {}
  if root_has(parser, "--profile") then
    list[#list + 1] = { "~/.config/proxyshard/config", "The config file: profiles of settings, one [NAME] "
      .. "section each, picked by --profile (or PROXYSHARD_PROFILE), else [default]. Its path is "
      .. "$PROXYSHARD_CONFIG, else $XDG_CONFIG_HOME/proxyshard/config, else this one." }
  end
  list[#list + 1] = { "~/.local/state/proxyshard/", "The state directory (--state-dir, else $PROXYSHARD_STATE_DIR, "
    .. "else $XDG_STATE_HOME/proxyshard, else this one), made with mode 0700: for each account (a digest of "
    .. "the base URL and the token, never the token) the lock a spending run holds (ACCOUNT.lock) and the "
    .. "journal of its spends (ACCOUNT.journal), which `proxyshard pending` reads; and the details of an "
    .. "internal error (proxyshard-error-TIME-N.txt)." }
  return list
end

--- The page's date: $SOURCE_DATE_EPOCH's day (reproducible builds), else
-- none.
function M.date(getenv)
  local epoch = tonumber(getenv and getenv("SOURCE_DATE_EPOCH") or nil)
  if not epoch then return "" end
  return os.date("!%Y-%m-%d", epoch)
end

--- The page, roff text. `getenv` (default os.getenv) is asked for
-- SOURCE_DATE_EPOCH only.
function M.page(getenv)
  getenv = getenv or os.getenv
  local parser = require "proxyshard.cli.parser"
  local commands = require "proxyshard.cli.commands"
  local exit = require "proxyshard.cli.exit"
  local version = require "proxyshard.version"
  local out = {}
  local function put(line) out[#out + 1] = line end
  local function tp(tag, body)
    put(".TP")
    put(tag)
    put(body)
  end

  put('.\\" proxyshard(1), made by `proxyshard man` (lua/proxyshard/cli/man.lua): do not edit')
  put(format('.TH PROXYSHARD 1 "%s" "proxyshard %s" "User Commands"', M.date(getenv), version))
  put(".ad l")
  put(".nh")
  put(".SH NAME")
  put("proxyshard \\- the ProxyShard User API from the shell")

  put(".SH SYNOPSIS")
  put("\\fBproxyshard\\fR [\\fIOPTIONS\\fR] \\fICOMMAND\\fR [\\fIARGUMENTS\\fR]")
  put(".br")
  put("\\fBproxyshard\\fR \\fICOMMAND\\fR \\fB\\-\\-help\\fR")
  put(".br")
  put("\\fBproxyshard help\\fR [\\fICOMMAND\\fR]")
  put(".br")
  put("\\fBproxyshard \\-\\-version\\fR")

  put(".SH DESCRIPTION")
  put(esc((gsub(parser.DESCRIPTION, "\n", " "))))
  put(".PP")
  put(esc("Each command's options, the library call it makes and an example are in `proxyshard COMMAND --help` "
    .. "(or `proxyshard help COMMAND`); the options below go before or after the command."))

  put(".SH COMMANDS")
  for _, command in ipairs(commands.all()) do
    tp("\\fB" .. esc(command.name) .. "\\fR", esc(sentence(command.summary)))
    put(".br")
    put(usage_tag(commands.usage(command)))
  end

  put(".SH GLOBAL OPTIONS")
  tp(option_tag("-h --help"), "Show the help (of the command, after one) and exit.")
  for _, o in ipairs(parser.ROOT_OPTIONS) do
    tp(option_tag(o.flag, not o.flag_only and o.argname or nil), esc(o.help))
  end

  put(".SH EXIT STATUS")
  put(esc("One status for each kind of error, so that a script can tell \"too expensive\" (3: nothing was "
    .. "bought) from \"the outcome is unknown\" (4: check before running it again)."))
  for _, c in ipairs(exit.CODES) do
    tp(format("\\fB%d\\fR (%s)", c[1], esc(c[2])), esc(sentence(c[3])))
  end

  put(".SH ENVIRONMENT")
  for _, e in ipairs(M.environment(parser)) do tp("\\fB" .. esc(e[1]) .. "\\fR", esc(e[2])) end

  put(".SH FILES")
  for _, f in ipairs(M.files(parser)) do tp("\\fI" .. esc(f[1]) .. "\\fR", esc(f[2])) end

  put(".SH EXAMPLES")
  put(".nf")
  put(".RS 4")
  for _, line in ipairs {
    "export PROXYSHARD_TOKEN=...",
    "proxyshard orders --status active",
    "proxyshard quote 12345 p0f_slots 2",
    "proxyshard purchase 12345 p0f_slots 2 --max-total 1.00 --reconcile",
    "proxyshard --json order 12345",
    "proxyshard --sandbox me",
  } do
    put(esc(line))
  end
  put(".RE")
  put(".fi")

  put(".SH SEE ALSO")
  put(esc("`proxyshard help COMMAND`, `proxyshard repl` (Lua with a client and help()), `proxyshard-sandbox "
    .. "--help` (a local sandbox of the API), `proxyshard completion bash|zsh|fish`."))
  put(".PP")
  put(esc("The documentation of the source: docs/command.md (the command), docs/json-output.md (what --json "
    .. "prints), docs/library.md (the Lua library)."))
  return concat(out, "\n") .. "\n"
end

--- The command (see proxyshard.cli.commands).
M.command = {
  name = "man",
  summary = "the manual page proxyshard(1), in roff: `proxyshard man | man -l -` reads it",
  usage = "proxyshard man",
}

function M.command.configure(cmd)
  cmd:epilog("The rock installs the page under its own folder; docs/setup.md says how `man proxyshard` finds it.")
end

function M.command.run(ctx)
  ctx:out(M.page(ctx.sys.getenv))
  return 0
end

return M
