--- The commands of `proxyshard`, made from the operation table: one per
-- row (proxyshard.operations), named after it (`set_tag` is `set-tag`),
-- plus the hand-written ones (`top-up`, `repl`). A new row gets its
-- command with nothing written here, unless its name is taken: then the
-- generator raises, and the row needs a `command` name of its own.
--
-- A command's arguments come from the row: the parameters its handle binds
-- are positional first (order id, add-on key, proxy type, user id), then
-- the row's positional `args`; a row whose args are a table takes each
-- parameter as `--name value`; its other parameters (such as
-- add_bandwidth's promo_code) are `--name value` options too. What an
-- argument is (a number, true/false, IP=SIGNATURE pairs) comes from the
-- parameter's `check`. A spending row's options are flags too
-- (FLOW_OPTIONS); a row with `all` gets `--all`.
-- This module is data only: proxyshard.cli.parser builds the argparse
-- parser from it, proxyshard.cli.run runs it.
-- @module proxyshard.cli.commands
local operations = require "proxyshard.operations"

local ipairs = ipairs
local format = string.format
local concat = table.concat
local gsub = string.gsub
local upper = string.upper

local M = {}

--- The spending options the command line has, on top of the row's
-- parameters: name → { flag, argname, help, flag_only }. (`confirm` is
-- the prompt, --yes or --dry-run: proxyshard.cli.run.)
M.FLOW_OPTIONS = {
  max_total = { "--max-total", argname = "DOLLARS", dollars = true,
    help = 'the most to spend, in dollars ("1.00", or "1"): nothing is bought above the price, or without one '
      .. "(exit 3)" },
  reconcile = { "--reconcile", flag_only = true,
    help = "when the answer is lost, re-read to find out whether it was done (instead of exit 4)" },
  settle = { "--settle", argname = "SECONDS", number = true, help = "how long --reconcile re-reads (default 10)" },
}

--- How the command line spells a parameter, by its check: the argname
-- shown in --help, and the conversion from text (proxyshard.cli.convert).
M.ARG_TYPES = {
  id = { argname = "ID", convert = "integer" },
  quantity = { argname = "N", convert = "integer" },
  offset = { argname = "N", convert = "integer" },
  limit = { argname = "N", convert = "integer" },
  gb = { argname = "GB", convert = "integer" },
  boolean = { argname = "true|false", convert = "boolean" },
  signature_items = { argname = "IP=SIGNATURE", convert = "signature_items", many = true },
  deletion_items = { argname = "IP=true|false", convert = "deletion_items", many = true },
  addons_json = { argname = "KEY=N[,KEY=N...]", convert = "addons" },
  addons_list = { argname = "KEY=N[,KEY=N...]", convert = "addons" },
}

local function dashed(name)
  return (gsub(name, "_", "-"))
end

-- The type of a parameter: ARG_TYPES's for its check, else text named
-- after the parameter (--status STATUS).
local function arg_type(check, name)
  return M.ARG_TYPES[check] or { argname = upper(name), convert = "text" }
end

-- The parameters a handle's chain binds, outermost first, with the check
-- of each (from any row that binds it).
local function chain_of(handle)
  local chain = {}
  local h = operations.handle[handle]
  while h and h.parent do
    table.insert(chain, 1, { name = h.param, maker = h.maker, check = h.check })
    h = operations.handle[h.parent]
  end
  return chain
end

local function param(row, name)
  for _, p in ipairs(row.params) do
    if p.name == name then return p end
  end
end

--- The command of one row.
function M.from_row(row)
  local key = row.handle .. "." .. row.name
  local command = {
    name = row.command or dashed(row.name), key = key, row = row, handle = row.handle,
    summary = row.summary, spends = row.spends, positionals = {}, options = {},
    flow = row.options, all = row.all,
  }
  for _, link in ipairs(chain_of(row.handle)) do
    local t = arg_type(link.check, link.name)
    command.positionals[#command.positionals + 1] = { name = link.name, check = link.check, maker = link.maker,
      convert = t.convert, argname = upper(link.name) }
  end
  local taken = {}
  if row.args ~= "table" then
    for _, name in ipairs(row.args) do
      local p = param(row, name)
      local t = arg_type(p.check, name)
      taken[name] = true
      command.positionals[#command.positionals + 1] = { name = name, check = p.check, convert = t.convert,
        many = t.many, argname = t.many and t.argname or upper(name) }
    end
  end
  for _, p in ipairs(row.params) do
    if not p.bound and p.value == nil and not taken[p.name] then
      local t = arg_type(p.check, p.name)
      command.options[#command.options + 1] = {
        name = p.name, flag = "--" .. dashed(p.name), argname = t.argname, convert = t.convert,
        required = row.args == "table" and p.required, check = p.check,
        -- a table row's parameters go in its table; another row's in opts
        into = row.args == "table" and "params" or "opts",
      }
    end
  end
  if row.asks then
    -- a row that deletes asks first, as a spend does (proxyshard.cli.run)
    command.asks = true
    command.options[#command.options + 1] = { name = "yes", flag = "-y --yes", flag_only = true, into = "command",
      help = "Do it without asking (needed off a terminal)." }
  end
  for _, name in ipairs(command.flow or {}) do
    local o = M.FLOW_OPTIONS[name]
    if o then command.options[#command.options + 1] = { name = name, flag = o[1], argname = o.argname, help = o.help,
      flag_only = o.flag_only, into = "opts",
      convert = (o.number and "number") or (o.dollars and "dollars") or (o.flag_only and "flag") or "text" } end
  end
  return command
end

local list, by_name

--- The hand-written commands' modules.
-- A hand-written command that `serves` a row ("order.proxies") takes the
-- place of the command the row would make.
M.HAND_WRITTEN = { "proxyshard.cli.topup", "proxyshard.cli.pending", "proxyshard.cli.repl", "proxyshard.cli.proxies",
  "proxyshard.cli.orders", "proxyshard.cli.renew", "proxyshard.cli.help_command", "proxyshard.cli.version",
  "proxyshard.cli.completion", "proxyshard.cli.man", "proxyshard.cli.plan", "proxyshard.cli.apply" }

--- The hand-written commands as the command line lists them, by module:
-- name, summary, and `replaces`: the name of the row command it takes the
-- place of (the row it serves), so that a run finds its one command, and
-- `proxyshard --help` lists them all, without loading each module and all
-- it requires. make raises when one differs from its module's.
M.HAND_WRITTEN_INDEX = {
  ["proxyshard.cli.topup"] = { name = "top-up",
    summary = "make sure orders have N unused p0f slots, buying only what is missing, under one total cap" },
  ["proxyshard.cli.pending"] = { name = "pending",
    summary = "the journal's spends whose end is not known; --settle finds out by re-reading (never resending)" },
  ["proxyshard.cli.repl"] = { name = "repl",
    summary = "Lua 5.4's interactive loop with proxyshard, money, help() and a client loaded" },
  ["proxyshard.cli.proxies"] = { name = "proxies", replaces = "proxies",
    summary = "the proxies of Datacenter/ISP orders: a table, or one line per proxy in a format tools read" },
  ["proxyshard.cli.orders"] = { name = "orders", replaces = "orders",
    summary = "the orders: status, expiry and days left, IPs, auto-renewal and tag (--expiring DAYS: soonest first)" },
  ["proxyshard.cli.renew"] = { name = "renew", replaces = "renew",
    summary = "renew orders (on hold, or about to expire) at an estimated price; many under one --max-total" },
  ["proxyshard.cli.help_command"] = { name = "help",
    summary = "the help of proxyshard (as --help), or of one command (as COMMAND --help)" },
  ["proxyshard.cli.version"] = { name = "version",
    summary = "the versions of proxyshard, of Lua, and of libcurl and its TLS library (--version: proxyshard's only)" },
  ["proxyshard.cli.completion"] = { name = "completion",
    summary = "the completion script of bash, zsh or fish for proxyshard (source it, or save it where the shell "
      .. "looks)" },
  ["proxyshard.cli.man"] = { name = "man",
    summary = "the manual page proxyshard(1), in roff: `proxyshard man | man -l -` reads it" },
  ["proxyshard.cli.plan"] = { name = "plan",
    summary = "what makes a desired-state file true: drift, the actions in order, their exact cost (exit 2: changes)" },
  ["proxyshard.cli.apply"] = { name = "apply",
    summary = "make a desired-state file (or a saved plan) true, once, under one --max-total" },
}

--- The commands of `rows`, then the hand-written ones: the list and the
-- commands by name. Raises when two have one name.
function M.make(rows)
  local made, names = {}, {}
  local function add(command)
    if names[command.name] then
      error(format("proxyshard.cli: two commands are named %q (%s and %s): give one row a `command` "
        .. "name of its own (proxyshard.operations)", command.name, names[command.name].key or names[command.name].name,
        command.key or command.name), 0)
    end
    names[command.name] = command
    made[#made + 1] = command
  end
  local served, replaced = {}, {}
  for _, row in ipairs(rows) do replaced[row.handle .. "." .. row.name] = row.command or dashed(row.name) end
  for _, module in ipairs(M.HAND_WRITTEN) do
    local command = require(module).command
    local known = M.HAND_WRITTEN_INDEX[module] or {}
    -- (a row it serves that `rows` lacks: nothing to check)
    local was = { name = command.name, summary = command.summary, replaces = replaced[command.serves] }
    if command.serves and not was.replaces then was.replaces = known.replaces end
    for _, field in ipairs { "name", "summary", "replaces" } do
      if known[field] ~= was[field] then
        error(format("proxyshard.cli: %s's command has the %s %q, but HAND_WRITTEN_INDEX says %q", module, field,
          tostring(was[field]), tostring(known[field])), 0)
      end
    end
    if command.serves then served[command.serves] = command end
  end
  for _, row in ipairs(rows) do
    local by_hand = served[row.handle .. "." .. row.name]
    if by_hand then by_hand.row = row else add(M.from_row(row)) end
  end
  for _, module in ipairs(M.HAND_WRITTEN) do add(require(module).command) end
  return made, names
end

--- Every command: those of the operation table's rows (in its order),
-- then the hand-written. Raises when two have one name.
function M.all()
  if not list then list, by_name = M.make(operations.rows) end
  return list
end

--- The command named `name`, or nil.
function M.find(name)
  M.all()
  return by_name[name]
end

-- The commands looked up one by one (name -> command, or false), until
-- M.all() makes them all.
local looked = {}

--- The command named `name`, or nil, as M.find finds it, but loading only
-- that command's module (a run needs its own command, not all 40): the
-- hand-written one of that name, else the row's. A name that two commands
-- would have, or that a hand-written command took from its row, is left
-- to M.find.
function M.lookup(name)
  if by_name then return by_name[name] end
  if type(name) ~= "string" then return nil end
  local hit = looked[name]
  if hit ~= nil then return hit or nil end
  local module
  for _, m in ipairs(M.HAND_WRITTEN) do
    local known = M.HAND_WRITTEN_INDEX[m]
    if not known then return M.find(name) end -- make raises
    if known.name == name then
      if module then return M.find(name) end
      module = m
    elseif known.replaces == name then
      return M.find(name)
    end
  end
  local command
  if module then
    command = require(module).command
    for _, r in ipairs(operations.rows) do
      local key = r.handle .. "." .. r.name
      if key == command.serves then
        command.row = r -- as make does
      elseif (r.command or dashed(r.name)) == name then
        return M.find(name) -- a row of that name too (make raises)
      end
    end
  else
    local row
    for _, r in ipairs(operations.rows) do
      if (r.command or dashed(r.name)) == name then
        if row then return M.find(name) end
        row = r
      end
    end
    command = row and M.from_row(row)
  end
  looked[name] = command or false
  return command
end

--- Every command's name and summary, as M.all() has them ({ name, summary }
-- in its order), without loading the hand-written modules; M.all()'s own
-- when two would have one name (it raises).
function M.index()
  if list then return list end
  local replaced, names, out = {}, {}, {}
  local function add(name, summary)
    if names[name] then return false end
    names[name] = true
    out[#out + 1] = { name = name, summary = summary }
    return true
  end
  for _, module in ipairs(M.HAND_WRITTEN) do
    local known = M.HAND_WRITTEN_INDEX[module]
    if not known then return M.all() end -- make raises
    if known.replaces then replaced[known.replaces] = true end
  end
  for _, row in ipairs(operations.rows) do
    local name = row.command or dashed(row.name)
    if not replaced[name] and not add(name, row.summary) then return M.all() end
  end
  for _, module in ipairs(M.HAND_WRITTEN) do
    local known = M.HAND_WRITTEN_INDEX[module]
    if not add(known.name, known.summary) then return M.all() end
  end
  return out
end

--- The command of a row, or nil.
function M.for_row(row)
  for _, command in ipairs(M.all()) do
    if command.row == row then return command end
  end
end

--- One line of usage: proxyshard purchase ORDER_ID ADDON_KEY ADD_QTY [--max-total DOLLARS] ...
function M.usage(command)
  if command.usage then return command.usage end
  local words = { "proxyshard", command.name }
  for _, p in ipairs(command.positionals) do
    words[#words + 1] = p.many and (p.argname .. "...") or p.argname
  end
  for _, o in ipairs(command.options) do
    local w = o.flag_only and o.flag or (o.flag .. " " .. o.argname)
    words[#words + 1] = o.required and w or ("[" .. w .. "]")
  end
  if command.all then words[#words + 1] = "[--all]" end
  if command.spends then words[#words + 1] = "[--yes] [--dry-run]" end
  return concat(words, " ")
end

return M
