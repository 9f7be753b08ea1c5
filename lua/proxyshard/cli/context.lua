--- One run of the command: its options, where the token and the base URL
-- come from, the client, and every line it writes. Everything written
-- goes through the token's redactor first, so the token is never printed,
-- not even when something echoes a command line back.
--
-- The token: `--token-file FILE` (`-`: standard input, read without echo
-- on a terminal), else `--token` (with a warning: the process list shows
-- it), else `$PROXYSHARD_TOKEN`; with `--sandbox`, else the sandbox's
-- (`$PROXYSHARD_SANDBOX_TOKEN` or "sandbox-token"). The base URL:
-- `--base-url`, else with `--sandbox` `$PROXYSHARD_SANDBOX_URL` or
-- http://127.0.0.1:8089, else `$PROXYSHARD_BASE_URL`, else the real API.
-- @module proxyshard.cli.context
local errors = require "proxyshard.errors"
local redact = require "proxyshard.wire.redact"
local exit = require "proxyshard.cli.exit"

local type = type
local pcall = pcall
local ipairs = ipairs
local tostring = tostring
local setmetatable = setmetatable
local format = string.format
local match = string.match
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

--- Set the parsed options (the root's: json, token, base_url...).
function Context:configure(args)
  self.args = args
  self.json = args.json
end

-- The first line of a file, or nil, err.
local function first_line(sys, path)
  local f, why = sys.open(path, "r")
  if not f then return nil, errors.invalid("--token-file", "cannot be read: " .. tostring(why)) end
  local line = f:read("l")
  f:close()
  return line
end

--- The token, and where it came from; nil (no error) when there is none.
function Context:token()
  if self.token_value ~= nil then return self.token_value or nil, self.token_source end
  local args, sys = self.args, self.sys
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
    token, err = first_line(sys, args.token_file)
    if err then return nil, nil, err end
  elseif args.token then
    source = "--token"
    self:err("proxyshard: warning: --token puts the token on the command line, where other users can see it "
      .. "(ps, /proc); use PROXYSHARD_TOKEN or --token-file instead\n")
    token = args.token
  elseif (sys.getenv("PROXYSHARD_TOKEN") or "") ~= "" then
    source, token = "PROXYSHARD_TOKEN", sys.getenv("PROXYSHARD_TOKEN")
  elseif args.sandbox then
    source = "the sandbox"
    token = sys.getenv("PROXYSHARD_SANDBOX_TOKEN")
    if (token or "") == "" then token = M.SANDBOX_TOKEN end
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
  local args, sys = self.args, self.sys
  if args.base_url then return args.base_url end
  if args.sandbox then
    local url = sys.getenv("PROXYSHARD_SANDBOX_URL")
    return (url or "") ~= "" and url or M.SANDBOX_URL
  end
  local url = sys.getenv("PROXYSHARD_BASE_URL")
  if (url or "") ~= "" then return url end
  return nil
end

--- The client (made once). `auth` false: a call that sends no token (the
-- health probes), which then runs without one.
function Context:client(auth)
  if self.made then return self.made end
  local token, _, err = self:token()
  if err then return nil, err end
  if not token then
    if auth ~= false then
      return nil, errors.new("auth", "no API token: set PROXYSHARD_TOKEN, or pass --token-file FILE "
        .. "(or --sandbox for a local sandbox)")
    end
    token = "none: this call sends no token"
  end
  local ok, client = pcall(require("proxyshard").new, {
    token = token, base_url = self:base_url(), timeout = self.args.timeout,
    -- the command's environment, not the process's (the same, but for specs)
    state_dir = self.args.state_dir or require("proxyshard.jobs.state").default(self.sys.getenv) or false,
    lock_wait = self.args.lock_wait,
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

--- Print a command's result: text, or with --json one document
-- { ok = true, command, result, ... }. `fields` adds top-level fields.
function Context:result(command, value, text, fields)
  if self.json then
    local doc = { ok = true, command = command, result = value }
    for k, v in pairs(fields or {}) do doc[k] = v end
    self:write_json(doc)
  else
    local t = text or render().text(value)
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
