--- One run of the command: its options, where each setting comes from,
-- the client, and every line it writes. Everything written goes through
-- the token's redactor first, so the token is never printed, not even
-- when something echoes a command line back.
--
-- Each setting (base_url, token_file, timeout, connect_timeout, proxy,
-- ca_file, allow_insecure, state_dir, lock_wait) comes from its flag
-- (--base-url...), else its environment variable (M.ENV), else the
-- profile of the config file (proxyshard.cli.config: --profile NAME or
-- $PROXYSHARD_PROFILE, else `default`), else the library's default.
--
-- The token: `--token-file FILE` (`-`: standard input, read without echo
-- on a terminal), else `--token` (with a warning: the process list shows
-- it); else with `--sandbox` the sandbox's (`$PROXYSHARD_SANDBOX_TOKEN`
-- or "sandbox-token": a live token is never sent to the sandbox); else
-- `$PROXYSHARD_TOKEN`, else the token file of `$PROXYSHARD_TOKEN_FILE` or
-- the profile. The base URL: `--base-url`, else with `--sandbox`
-- `$PROXYSHARD_SANDBOX_URL` or http://127.0.0.1:8089, else
-- `$PROXYSHARD_BASE_URL`, else the profile's, else the real API.
--
-- A failure is said in the command's words (M.speak): the library's
-- option names (`allow_insecure = true`, `max_total`) become its flags.
-- @module proxyshard.cli.context
local errors = require "proxyshard.errors"
local redact = require "proxyshard.wire.redact"
local exit = require "proxyshard.cli.exit"
local config = require "proxyshard.cli.config"

local type = type
local pcall = pcall
local ipairs = ipairs
local tostring = tostring
local setmetatable = setmetatable
local format = string.format
local match = string.match
local gmatch = string.gmatch
local gsub = string.gsub
local find = string.find
local sub = string.sub
local lower = string.lower
local pairs = pairs
local require = require

-- proxyshard.cli.render (and JSON with it), loaded when first printed
-- with: --help and a usage error do without it
local function render() return require "proxyshard.cli.render" end

local M = {}

M.SANDBOX_URL = "http://127.0.0.1:8089"
M.SANDBOX_TOKEN = "sandbox-token"

local Context = {}
Context.__index = Context

--- A context for `argv` (for the redactor: a token given with --token is
-- known before the command line is even parsed) on `sys`.
function M.new(sys, argv)
  local self = setmetatable({ sys = sys, redactors = {}, name = "proxyshard" }, Context)
  -- for the JSON output: each string redacted before it is encoded
  self.cleaner = function(text) return self:clean(text) end
  self:secret(sys.getenv("PROXYSHARD_TOKEN"))
  for i, a in ipairs(argv or {}) do
    if a == "--token" then self:secret(argv[i + 1]) end
    self:secret(match(a, "^%-%-token=(.*)$"))
  end
  return self
end

--- Never print `token` (in any spelling proxyshard.wire.redact knows).
function Context:secret(token)
  if type(token) == "string" and token ~= "" then
    self.redactors[#self.redactors + 1] = redact.new(token)
  end
end

function Context:clean(text)
  for _, r in ipairs(self.redactors) do text = r(text) end
  return text
end

--- Write `doc` to stdout as one JSON document (proxyshard.cli.render),
-- every string redacted before encoding.
function Context:write_json(doc)
  self.sys.out(self:clean(render().json(doc, self.cleaner)))
end

--- Write to stdout / stderr, redacted.
function Context:out(text) self.sys.out(self:clean(text)) end
function Context:err(text) self.sys.err(self:clean(text)) end

--- The environment variable of each setting (proxyshard.cli.config.KEYS),
-- read as the config file's value is.
M.ENV = {
  base_url = "PROXYSHARD_BASE_URL", token_file = "PROXYSHARD_TOKEN_FILE", timeout = "PROXYSHARD_TIMEOUT",
  connect_timeout = "PROXYSHARD_CONNECT_TIMEOUT", proxy = "PROXYSHARD_PROXY", ca_file = "PROXYSHARD_CA_FILE",
  allow_insecure = "PROXYSHARD_ALLOW_INSECURE", state_dir = "PROXYSHARD_STATE_DIR", lock_wait = "PROXYSHARD_LOCK_WAIT",
}

--- The flag of each option name the library's messages use: one mapping
-- for every message (M.speak). A command's own options (--status, --limit...)
-- are added by M.speak from the command.
M.FLAGS = {
  base_url = "--base-url", token = "--token", token_file = "--token-file", timeout = "--timeout",
  connect_timeout = "--connect-timeout", proxy = "--proxy", ca_file = "--ca-file",
  allow_insecure = "--allow-insecure", state_dir = "--state-dir", lock_wait = "--lock-wait",
  max_total = "--max-total", reconcile = "--reconcile", settle = "--settle",
}

-- What the library's messages say in Lua, and what the command says
-- instead (plain text, not patterns; `%s` in a replacement: M.FLAGS[name]).
local PHRASES = {
  -- proxyshard.check.validate.amount's hint: cents as an integer (the
  -- command reads 100 as $100.00), or money.parse
  { "; write cents as an integer (100 for $1.00), or dollars as text: \"1.00\" or proxyshard.money.parse(\"1.00\")",
    "; give dollars, such as 1.00 (or 1 for $1.00)" },
  { "or allow_insecure = true", "or --allow-insecure" },
  { "is not an amount: money.parse: ", "is not an amount: " },
  { "unless allow_insecure", "unless --allow-insecure" },
  { "applies only with reconcile = true", "applies only with --reconcile" },
  { "\"env\" or false)", "\"env\" or \"none\")" },
  { "settle it first (client:settle(), proxyshard pending --settle)",
    "settle it first (`proxyshard pending --settle`)" },
}
-- ... and the patterns: a name = value the command gives as a flag
local PATTERNS = {
  { "%(timeout = ([%d.]+) s%)", "(--timeout %1)" },
  { "within timeout = ([%d.]+) s", "within --timeout %1" },
  { "above max_total ", "above --max-total " },
  { "so max_total ", "so --max-total " },
  { "left of max_total ", "left of --max-total " },
  { "to hold to max_total ", "to hold to --max-total " },
}

local function replace_plain(text, from, to)
  local i, j = find(text, from, 1, true)
  while i do
    text = sub(text, 1, i - 1) .. to .. sub(text, j + 1)
    i, j = find(text, from, i + #to, true)
  end
  return text
end

--- `err` (an error value of the library) in the command's words, in
-- place: an argument named by its Lua option name is named by its flag
-- (`flags`: more name -> flag, a command's own), and what the library
-- says in Lua (`allow_insecure = true`, `max_total`, the amount's hint in
-- cents) is said with the flags. The library's own messages keep the Lua
-- names (its callers write Lua). Returns err.
function M.speak(err, flags)
  if type(err) ~= "table" or type(err.message) ~= "string" then return err end
  local message = err.message
  local arg = err.argument
  local flag = type(arg) == "string" and ((flags and flags[arg]) or M.FLAGS[arg])
  if flag and sub(message, 1, #arg + 1) == arg .. " " then
    message = flag .. sub(message, #arg + 1)
    err.argument = flag
  end
  for _, p in ipairs(PHRASES) do message = replace_plain(message, p[1], p[2]) end
  for _, p in ipairs(PATTERNS) do message = gsub(message, p[1], p[2]) end
  err.message = message
  return err
end

--- M.speak with this run's command's own options as flags too.
function Context:speak(err)
  local flags
  local command = self.command_table
  if command and command.options then
    flags = {}
    for _, o in ipairs(command.options) do
      if o.name and o.flag then flags[o.name] = match(o.flag, "%-%-%S+") end
    end
  end
  return M.speak(err, flags)
end

-- The setting `key` read from the environment variable `name`: the value
-- (nil: not set), or nil and an error.
local function from_env(sys, key, name)
  local text = sys.getenv(name)
  if text == nil or text == "" then return nil end
  local v, why = config.value(key, text, sys.getenv("HOME"), name)
  if v == nil then return nil, errors.invalid(name, (gsub(why, "^" .. name .. " ", ""))) end
  return v
end

-- --output, --columns and --no-header, checked: { format, columns, header }
-- or nil, err. (--json is --output json.)
local function view_of(self, args, command)
  local output = args.output
  if output ~= nil then
    output = lower(output)
    if output ~= "json" and not render().FORMATS[output] then
      return nil, errors.invalid("--output", format("must be json, table, tsv or csv, got %q", args.output))
    end
    if args.json and output ~= "json" then
      return nil, errors.invalid("--json", format("and --output %s are two outputs: give one", output))
    end
  end
  if output == "json" then self.json = true end
  local view = { format = output ~= "json" and output or "table", header = not args.no_header }
  if args.columns then
    local list = {}
    for name in gmatch(args.columns, "[^,]+") do
      name = match(name, "^%s*(.-)%s*$")
      if name ~= "" then list[#list + 1] = name end
    end
    if #list == 0 then return nil, errors.invalid("--columns", "must name columns: --columns order_id,status") end
    view.columns = list
  end
  local shaped = view.columns or args.no_header or view.format ~= "table"
  if shaped and self.json then
    return nil, errors.invalid(view.columns and "--columns" or args.no_header and "--no-header" or "--output",
      "shapes a table: not with JSON output")
  end
  if shaped and command and command.row and not command.configure and command.row.class ~= "read" then
    -- a change's result is one line: never refused after it was made
    return nil, errors.invalid(view.columns and "--columns" or args.no_header and "--no-header" or "--output",
      format("applies to a command whose result is a list: %s changes the account, and its result is not one",
        command.name))
  end
  if view.columns and command and command.columns then
    -- checked before the command runs, for a command that spends
    local _, err = render().columns(view.columns, command.columns)
    if err then return nil, err end
  end
  return view
end

--- The settings of this run, from flags, the environment and the
-- profile (M.ENV, proxyshard.cli.config): { key = value }, their sources
-- (key -> "--flag", "VARIABLE" or "profile NAME"), or nil, err.
function Context:resolve(args)
  local sys = self.sys
  local name = args.profile
  if name == nil and (sys.getenv("PROXYSHARD_PROFILE") or "") ~= "" then name = sys.getenv("PROXYSHARD_PROFILE") end
  local profile, profile_name = config.load(sys, name)
  if not profile then return nil, profile_name end
  local settings, sources = {}, {}
  for key in pairs(config.KEYS) do
    local v, err
    if args[key] ~= nil and args[key] ~= false then
      v, sources[key] = args[key], "--" .. gsub(key, "_", "-")
    else
      v, err = from_env(sys, key, M.ENV[key])
      if err then return nil, err end
      if v ~= nil then
        sources[key] = M.ENV[key]
      elseif profile[key] ~= nil then
        v, sources[key] = profile[key], "profile " .. profile_name
      end
    end
    settings[key] = v
  end
  if args.sandbox and not args.base_url then
    local url = sys.getenv("PROXYSHARD_SANDBOX_URL")
    settings.base_url = (url or "") ~= "" and url or M.SANDBOX_URL
    sources.base_url = "--sandbox"
  end
  if settings.proxy == "none" then settings.proxy = false end -- over a profile's or the environment's
  self.profile_name = profile_name
  return settings, sources
end

--- Set the parsed options (the root's: json, token, base_url...) of
-- `command`: the settings resolved and the output checked. Returns true,
-- or nil and an invalid_argument error (exit 2; nothing was sent).
function Context:configure(args, command)
  self.args = args
  self.json = args.json
  self.command_table = command
  local view, err = view_of(self, args, command)
  if not view then return nil, err end
  self.view = view
  local settings, sources = self:resolve(args)
  if not settings then return nil, sources end
  self.settings, self.sources = settings, sources
  return true
end

-- The first line of a file, or nil, err (`flag`: the option it came from).
local function first_line(sys, path, flag)
  local f, why = sys.open(path, "r")
  if not f then return nil, errors.invalid(flag, "cannot be read: " .. tostring(why)) end
  local line = f:read("l")
  f:close()
  return line
end

-- Warn, as ssh does, when the token file `path` can be read by others
-- than its owner (the mode asked of sys.file_mode: one `stat`, only when a
-- token file is read).
local function check_mode(self, path)
  local mode = self.sys.file_mode and self.sys.file_mode(path)
  if mode and mode & 36 ~= 0 then -- 044 octal: read by group or others
    self:err(format("proxyshard: warning: permissions %04o for %s are too open: the token file should be "
      .. "readable by you only (chmod 600 %s)\n", mode, path, path))
  end
end

--- The token, and where it came from; nil (no error) when there is none.
function Context:token()
  if self.token_value ~= nil then return self.token_value or nil, self.token_source end
  local args, sys = self.args, self.sys
  local settings = self.settings or {}
  local token, source, err
  if args.token_file and args.token then
    return nil, nil, errors.invalid("--token", "and --token-file are two tokens: give one")
  end
  if args.token_file == "-" then
    source = "standard input"
    local tty = sys.is_tty(0)
    if tty then
      sys.err("proxyshard token: ")
      sys.echo(false)
    end
    token = sys.read_line()
    if tty then
      sys.echo(true)
      sys.err("\n")
    end
  elseif args.token_file then
    source = "--token-file"
    token, err = first_line(sys, args.token_file, "--token-file")
    if err then return nil, nil, err end
    check_mode(self, args.token_file)
  elseif args.token then
    source = "--token"
    self:err("proxyshard: warning: --token puts the token on the command line, where other users can see it "
      .. "(ps, /proc); use PROXYSHARD_TOKEN or --token-file instead\n")
    token = args.token
  elseif args.sandbox then
    -- the sandbox's own, whatever else is set: a live token never goes there
    source = "the sandbox"
    token = sys.getenv("PROXYSHARD_SANDBOX_TOKEN")
    if (token or "") == "" then token = M.SANDBOX_TOKEN end
  elseif (sys.getenv("PROXYSHARD_TOKEN") or "") ~= "" then
    source, token = "PROXYSHARD_TOKEN", sys.getenv("PROXYSHARD_TOKEN")
  elseif settings.token_file then
    local from = self.sources.token_file
    source = "token_file"
    token, err = first_line(sys, settings.token_file, from == M.ENV.token_file and from or "token_file")
    if err then
      if from ~= M.ENV.token_file then err.message = format("%s (%s)", err.message, from) end
      return nil, nil, err
    end
    check_mode(self, settings.token_file)
  end
  if token then token = match(token, "^%s*(.-)%s*$") end
  if token == "" then
    return nil, nil, errors.invalid(source == "--token-file" and "--token-file" or "token", "is empty")
  end
  self:secret(token)
  self.token_value, self.token_source = token or false, source
  return token, source
end

--- The base URL the client is for (nil: the library's default, the real API).
function Context:base_url()
  return (self.settings or {}).base_url
end

-- The hooks of --debug: each request and answer on stderr, redacted.
local function debug_hooks(self)
  local function on_request(e)
    self:err(format("proxyshard debug: > %s %s (attempt %d)\n", tostring(e.method), tostring(e.url), e.attempt or 0))
  end
  local function on_response(e)
    if e.status then
      local lines = { format("proxyshard debug: < HTTP %d in %.3f s (attempt %d)", e.status, e.time or 0,
        e.attempt or 0) }
      local names = {}
      for name in pairs(e.headers or {}) do names[#names + 1] = name end
      table.sort(names)
      for _, name in ipairs(names) do
        lines[#lines + 1] = format("proxyshard debug: <   %s: %s", name, tostring(e.headers[name]))
      end
      self:err(table.concat(lines, "\n") .. "\n")
    else
      local why = e.error or {}
      self:err(format("proxyshard debug: < no answer: %s: %s (attempt %d)\n", tostring(why.kind),
        tostring(why.message), e.attempt or 0))
    end
  end
  return on_request, on_response
end

--- The client (made once). `auth` false: a call that sends no token (the
-- health probes), which then runs without one. `later` true: without a
-- token, a client all the same, and the auth error kept in
-- self.missing_token for the caller to fail with before it sends
-- anything (so that a bad argument is said first).
function Context:client(auth, later)
  if self.made then return self.made end
  local token, _, err = self:token()
  if err then return nil, err end
  if not token then
    if auth ~= false then
      err = errors.new("auth", "no API token: set PROXYSHARD_TOKEN, or pass --token-file FILE "
        .. "(or --sandbox for a local sandbox, or a token_file in the config file's profile)")
      if not later then return nil, err end
      self.missing_token = err
    end
    token = "none: this call sends no token"
  end
  local s = self.settings or {}
  local on_request, on_response
  if self.args.debug then on_request, on_response = debug_hooks(self) end
  local ok, client = pcall(require("proxyshard").new, {
    token = token, base_url = s.base_url, timeout = s.timeout, connect_timeout = s.connect_timeout,
    proxy = s.proxy, ca_file = s.ca_file, allow_insecure = s.allow_insecure or nil,
    -- the command's environment, not the process's (the same, but for specs)
    state_dir = s.state_dir or require("proxyshard.jobs.state").default(self.sys.getenv) or false,
    lock_wait = s.lock_wait, on_request = on_request, on_response = on_response,
  })
  if not ok then
    -- proxyshard.new raises an error value for a bad option
    if errors.is(client) then return nil, client end
    return nil, errors.invalid("options", tostring(client))
  end
  self.made = client
  return client
end

--- A run that spends: fn(...) under the account's lock for the whole run
-- (another run of the account waits --lock-wait seconds, then exit 11),
-- after settling what the journal left pending (said on stderr). Returns
-- fn's exit status, or the failure's.
function Context:spending_run(client, fn, ...)
  local code, err = require("proxyshard.jobs.lock").held(client, { wait = client.jobs.lock_wait,
    command = "proxyshard " .. tostring(self.command) }, function(...)
      local unsettled = require("proxyshard.cli.pending").settle_first(self, client)
      if unsettled then return self:fail(unsettled) end
      return fn(...)
    end, ...)
  if code == nil then return self:fail(err) end
  return code
end

--- `items` as a table, shaped by the command line (--output table, tsv
-- or csv, --columns, --no-header: proxyshard.cli.render.table); `columns`
-- the table's own (default: the items' class's), `none` the text of an
-- empty list. Every list a command prints goes through here. A column
-- the table does not have is this run's failure (M.result says it).
function Context:table(items, columns, none)
  local text, err = render().table(items, columns, self.view, none)
  if not text then
    self.view_error = self.view_error or err
    return ""
  end
  return text
end

--- A result as text (proxyshard.cli.render.text), shaped as M.table does:
-- the line under a page's table is kept with it (M.with_note).
function Context:text(value)
  local text, note = render().text(value, self.view)
  if not text then
    self.view_error = self.view_error or note
    return ""
  end
  return note and self:with_note(text, note) or text
end

--- `text` with a line under it (a summary, a page's count): under it as a
-- table; to stderr as tsv or csv, whose stdout holds the rows only.
function Context:with_note(text, note)
  if self.view and self.view.format ~= "table" then
    self:err(note .. "\n")
    return text
  end
  if text == "" then return note end
  return text .. "\n" .. note
end

--- Print a command's result: text, or with --json one document
-- { ok = true, command, result, ... }. `fields` adds top-level fields.
function Context:result(command, value, text, fields)
  if self.json then
    local doc = { ok = true, command = command, result = value }
    for k, v in pairs(fields or {}) do doc[k] = v end
    self:write_json(doc)
  else
    local t = text or self:text(value)
    if self.view_error then return self:fail(self.view_error) end
    if t ~= "" then self:out(t .. "\n") end
  end
  return exit.OK
end

--- What to try after `err`, in the command's words, or nil: nothing
-- listens at a local address (the sandbox not started).
function Context:hint(err)
  if type(err) ~= "table" or err.kind ~= "network" or err.request_sent ~= false or not self.args then return nil end
  local base = self:base_url() or ""
  if not (self.args.sandbox or base:find("^https?://127%.") or base:find("^https?://localhost[:/]")
      or base:find("^https?://%[::1%]")) then
    return nil
  end
  return format("nothing answers at %s: is the sandbox running? Start it with `proxyshard-sandbox` "
    .. "(bin/proxyshard-sandbox in a checkout; --port PORT), or give --base-url", base ~= "" and base or M.SANDBOX_URL)
end

--- Report a failure: its one line (tostring(err)) to stderr, and with
-- --json a document { ok = false, command, error, exit } to stdout.
-- Returns the exit status for it; `code` overrides the error kind's.
function Context:fail(err, code, command)
  self:speak(err)
  code = code or exit.for_error(err)
  self:err(tostring(err) .. "\n")
  local hint = self:hint(err)
  if hint then self:err("proxyshard: " .. hint .. "\n") end
  if self.json then
    self:write_json({ ok = false, command = command or self.command, error = render().error(err), exit = code })
  end
  return code
end

--- A failure that is not an error of the library (a declined prompt):
-- { kind = name, message }.
function Context:refuse(kind, message, code)
  local err = setmetatable({ kind = kind, message = message }, {
    __tostring = function() return format("proxyshard %s: %s", kind, message) end,
  })
  return self:fail(err, code)
end

return M
