--- help(): the library describing itself, for the REPL and `lua5.4 -i`.
-- Everything it says is made from the operation table
-- (proxyshard.operations) and the models, so a new operation is described
-- as soon as its row exists.
--
--   local help = require "proxyshard.help"
--   help()                 -- every call, grouped by handle, one line each
--   help(client:order(1))  -- one object: what it is, its fields and methods
--   help("purchase")       -- one call: parameters, options, result, example
--   help.text("purchase")  -- the same text, returned instead of printed
--
-- `help` is a table that can be called; printed (typing `help` at the
-- prompt) it shows the overview. It sets no global: `proxyshard repl` sets
-- the global `help`, and so does `lua5.4 -i -l help=proxyshard.help`.
-- @module proxyshard.help
local operations = require "proxyshard.operations"

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local getmetatable = getmetatable
local rawget = rawget
local format = string.format
local rep = string.rep
local concat = table.concat
local sort = table.sort
local next = next

local M = {}

--- The handles, in the order help() lists them: the handle tree of
-- proxyshard.operations (`var`, `made`, `parent`, `maker`, `param`).
M.HANDLES = operations.handles
M.BY_HANDLE = operations.handle

-- The methods written by hand (the tree's `methods`) and the methods that
-- read every page of a row (the rows' `all`), by handle: { name, args,
-- summary, pages = the row's name }.
local function extra_methods(handle)
  local out = {}
  for _, row in ipairs(operations.by_handle[handle] or {}) do
    local all = row.all
    if all then
      out[#out + 1] = { name = all.method, pages = row.name,
        args = all.params and ("{ " .. concat(all.params, ", ") .. " } [, opts]") or "[opts]",
        summary = all.summary }
    end
  end
  for _, m in ipairs(operations.handle[handle].methods or {}) do out[#out + 1] = m end
  for _, h in ipairs(operations.handles) do
    if h.parent == handle then
      out[#out + 1] = { name = h.maker, args = h.param, summary = h.summary }
    end
  end
  return out
end

--- What a spending call takes in `opts` besides the call options.
M.FLOW_OPTIONS = {
  max_total = "the most to spend: integer cents (100), a money value, or dollars as text (\"1.00\"); above "
    .. "the price (or with no price at all) nothing is bought (a `budget` error)",
  reconcile = "true: when the answer is lost (unknown_outcome), re-read to find out whether it was done",
  settle = "seconds --reconcile keeps re-reading (default 10)",
  confirm = "function(price): sees the price ({ total, estimate, text }) before anything is sent; true buys",
  lock = "true (or a state directory): hold the account's run lock, so that no other process spends meanwhile",
  lock_wait = "seconds to wait for another process's lock (default 0: `locked` at once)",
  journal = "true (or a state directory): write the spend to the account's journal before it is sent",
}

-- Methods that are plumbing, not calls: not listed.
local INTERNAL = { bound = true }

local HEADER = "proxyshard %s: every call, by the handle it is made on. help(\"purchase\") for one call, "
  .. "help(obj) for an object."

local function classes()
  require "proxyshard.handles.client" -- the client's own methods (map, close)
  return require("proxyshard.handles").classes
end

-- the handle name of a class (or nil)
local function handle_of(mt)
  for name, class in pairs(classes()) do
    if class == mt then return name end
  end
end

--- A row's signature: addon:purchase(add_qty [, opts]).
function M.signature(row)
  local h = M.BY_HANDLE[row.handle]
  local args
  if row.args == "table" then
    local names = {}
    for _, p in ipairs(row.params) do
      if not p.bound and p.value == nil then names[#names + 1] = p.name end
    end
    args = "{ " .. concat(names, ", ") .. " }"
    args = (#names == 0 and "" or args) .. (#names == 0 and "[opts]" or " [, opts]")
  else
    args = concat(row.args, ", ") .. (#row.args == 0 and "[opts]" or " [, opts]")
  end
  return format("%s:%s(%s)", h and h.var or row.handle, row.name, args)
end

local function extra_signature(handle, m)
  local h = M.BY_HANDLE[handle]
  return format("%s:%s(%s)", h.var, m.name, m.args)
end

local function flag(row)
  if row.spends then return "  [charges the wallet]" end
  if row.class == "write" then return "  [changes state]" end
  return ""
end

-- The rows and methods of one handle: { sig, summary, row }.
local function calls_of(handle)
  local out, seen = {}, {}
  for _, row in ipairs(operations.by_handle[handle] or {}) do
    out[#out + 1] = { sig = M.signature(row), summary = row.summary .. flag(row), row = row }
    seen[row.name] = true
  end
  local class = classes()[handle]
  for _, m in ipairs(extra_methods(handle)) do
    if class and type(rawget(class, m.name)) == "function" then
      out[#out + 1] = { sig = extra_signature(handle, m), summary = m.summary, method = m }
      seen[m.name] = true
    end
  end
  -- anything else public on the class: listed, so that nothing is hidden
  local rest = {}
  for name, v in pairs(class or {}) do
    if type(v) == "function" and not seen[name] and not INTERNAL[name] and name:sub(1, 1) ~= "_" then
      rest[#rest + 1] = name
    end
  end
  sort(rest)
  for _, name in ipairs(rest) do
    out[#out + 1] = { sig = format("%s:%s(...)", M.BY_HANDLE[handle].var, name), summary = "(not described)" }
  end
  return out
end

-- Two columns: a left one `width` wide (a longer entry gets a line of its
-- own, the right column under it).
local function column(lines, width)
  local out = {}
  for _, l in ipairs(lines) do
    local pad = width - #l[1]
    if pad < 0 then
      out[#out + 1] = "  " .. l[1]
      out[#out + 1] = "  " .. rep(" ", width) .. "  " .. l[2]
    else
      out[#out + 1] = "  " .. l[1] .. rep(" ", pad) .. "  " .. l[2]
    end
  end
  return out
end

--- The overview: every call, grouped by handle, one line each.
function M.overview()
  local out = { format(HEADER, require "proxyshard.version") }
  for _, h in ipairs(M.HANDLES) do
    local calls = calls_of(h.name)
    local width = 0
    local lines = {}
    for _, c in ipairs(calls) do
      if #c.sig > width then width = #c.sig end
      lines[#lines + 1] = { c.sig, c.summary }
    end
    if width > 48 then width = 48 end
    out[#out + 1] = ""
    out[#out + 1] = format("%s = %s", h.var, h.made)
    for _, l in ipairs(column(lines, width)) do out[#out + 1] = l end
  end
  out[#out + 1] = ""
  out[#out + 1] = "Every call returns its result, or nil and an error (err.kind: proxyshard.KINDS). Amounts "
    .. "are money values in exact cents: proxyshard.money.parse(\"1.50\"), m.cents, tostring(m) is \"$1.50\"."
  out[#out + 1] = "Desired state: plan = proxyshard.plan(client, \"desired-state.lua\"); print(plan); "
    .. "plan:apply{ max_total = \"15.00\" } (docs/desired-state.md)."
  return concat(out, "\n")
end

--- The first doc comment block of a module's source, as one paragraph
-- (nil when it has none).
function M.module_summary(module_name)
  local path = package.searchpath(module_name, package.path)
  local f = path and io.open(path, "r")
  if not f then return nil end
  local lines = {}
  for line in f:lines() do
    local text = line:match("^%-%-%-? ?(.*)$")
    if not text or text:match("^@") then break end
    if text == "" and #lines > 0 then break end
    lines[#lines + 1] = text
  end
  f:close()
  if #lines == 0 then return nil end
  return concat(lines, " ")
end

-- The rows (and hand-written methods) a name can mean: "purchase",
-- "addon.purchase", "addon:purchase", or a command's name ("sign").
local function find_calls(name)
  local handle, method = name:match("^([%w_]+)[.:]([%w_]+)$")
  local found = {}
  for _, row in ipairs(operations.rows) do
    if (handle and row.handle == handle and row.name == method) or (not handle and row.name == name) then
      found[#found + 1] = { row = row }
    end
  end
  for _, node in ipairs(operations.handles) do
    local h = node.name
    for _, m in ipairs(extra_methods(h)) do
      if (handle and h == handle and m.name == method) or (not handle and m.name == name) then
        found[#found + 1] = { method = m, handle = h }
      end
    end
  end
  if #found == 0 then
    local ok, commands = pcall(require, "proxyshard.cli.commands")
    local command = ok and commands.find(name)
    if command and command.row then found[1] = { row = command.row } end
  end
  return found
end

local function call_option_names()
  local names = {}
  for name in pairs(require("proxyshard.check.settings").CALL_OPTIONS) do names[#names + 1] = name end
  sort(names)
  return concat(names, ", ")
end

--- Where the value of `row`'s parameter `p` comes from: "handle" (bound),
-- "constant" (`value`), "field" (of the table), "argument" and its
-- position, or "option" (a field of opts). The reference says it too.
function M.param_source(p, row)
  if p.bound then return "handle" end
  if p.value ~= nil then return "constant" end
  if row.args == "table" then return "field" end
  for i, a in ipairs(row.args) do
    if a == p.name then return "argument", i end
  end
  return "option"
end

local function where(p, row)
  local source, i = M.param_source(p, row)
  if source == "handle" then
    local h = M.BY_HANDLE[p.bound]
    return "from the handle: " .. (h and h.made or p.bound)
  end
  if source == "constant" then return "always " .. tostring(p.value) end
  if source == "field" then return "a field of the table" end
  if source == "argument" then return "argument " .. i end
  return "a field of opts"
end

local function command_line(row)
  local ok, commands = pcall(require, "proxyshard.cli.commands")
  if not ok then return nil end
  local command = commands.for_row(row)
  return command and commands.usage(command)
end

local function describe_row(row)
  local h = M.BY_HANDLE[row.handle]
  local out = {
    M.signature(row) .. "    " .. row.method .. " " .. row.path .. flag(row),
    "  " .. row.summary,
  }
  if h and h.parent then out[#out + 1] = format("  on: %s = %s", h.var, h.made) end
  if #row.params > 0 then
    out[#out + 1] = "  parameters:"
    local lines, width = {}, 0
    for _, p in ipairs(row.params) do
      local left = format("%s (%s, %s%s)", p.name, p.at, p.check, p.required and ", required" or "")
      if #left > width then width = #left end
      lines[#lines + 1] = { left, where(p, row) }
    end
    for _, l in ipairs(column(lines, width)) do out[#out + 1] = "  " .. l end
  end
  local flow = row.options -- a flow's own options, as its row lists them
  if flow then
    out[#out + 1] = "  options (opts):"
    for _, name in ipairs(flow) do out[#out + 1] = format("    %-10s %s", name, M.FLOW_OPTIONS[name]) end
  end
  out[#out + 1] = "  every call also takes: " .. call_option_names()
  if row.model then
    local about = M.module_summary("proxyshard.model." .. row.model)
    out[#out + 1] = format("  returns: proxyshard.model.%s%s", row.model, about and (" — " .. about) or "")
  elseif row.answer == false then
    out[#out + 1] = "  returns: true when the status is 2xx"
  end
  if row.example then out[#out + 1] = "  example: " .. row.example end
  local cmd = command_line(row)
  if cmd then out[#out + 1] = "  command: " .. cmd end
  return concat(out, "\n")
end

local function describe_method(handle, m)
  local h = M.BY_HANDLE[handle]
  local out = { extra_signature(handle, m), "  " .. m.summary, format("  on: %s = %s", h.var, h.made) }
  if m.pages then
    local row = operations.find(handle, m.pages)
    if row then out[#out + 1] = "  reads every page of " .. M.signature(row) end
  end
  return concat(out, "\n")
end

--- One call by name ("purchase", "addon.purchase", "sign"): its
-- description, or nil when no call has that name.
function M.call(name)
  local found = find_calls(name)
  if #found == 0 then return nil end
  local parts = {}
  for _, f in ipairs(found) do
    parts[#parts + 1] = f.row and describe_row(f.row) or describe_method(f.handle, f.method)
  end
  return concat(parts, "\n\n")
end

local function short(v)
  local money = package.loaded["proxyshard.money"]
  if money and money.is(v) then return tostring(v) end
  local tv = type(v)
  if tv == "string" then return format("%q", v) end
  if tv ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if mt and mt.__tostring then
    local text = tostring(v)
    local first = text:match("^[^\n]*")
    if #first > 60 then first = first:sub(1, 57) .. "..." end
    return first .. (text:find("\n") and " ..." or "")
  end
  if #v > 0 then return format("a list of %d", #v) end
  return "a table"
end

local function describe_fields(obj)
  local names = {}
  for k, v in pairs(obj) do
    if type(k) == "string" and type(v) ~= "function" then names[#names + 1] = k end
  end
  sort(names)
  local out = {}
  for _, k in ipairs(names) do
    -- a password is the user's secret: help(obj) does not show it
    local v = k:find("password") and "(hidden)" or short(obj[k])
    out[#out + 1] = format("    %-20s %s", k, v)
  end
  return out
end

local function methods_of(mt)
  local names = {}
  for k, v in pairs(mt) do
    if type(v) == "function" and k:sub(1, 2) ~= "__" and not INTERNAL[k] then names[#names + 1] = k end
  end
  sort(names)
  return names
end

local function describe_object(obj)
  local mt = getmetatable(obj)
  local name = type(mt) == "table" and rawget(mt, "__name") or nil
  local handle = mt and handle_of(mt)
  if handle then
    local h = M.BY_HANDLE[handle]
    local out = { format("%s — the %s handle: %s = %s", tostring(obj), handle, h.var, h.made) }
    if obj.error then out[#out + 1] = "  BROKEN: every call returns nil, " .. tostring(obj.error) end
    out[#out + 1] = "  calls:"
    local lines, width = {}, 0
    for _, c in ipairs(calls_of(handle)) do
      if #c.sig > width then width = #c.sig end
      lines[#lines + 1] = { c.sig, c.summary }
    end
    for _, l in ipairs(column(lines, width > 48 and 48 or width)) do out[#out + 1] = "  " .. l end
    return concat(out, "\n")
  end
  local base = require "proxyshard.model.base"
  if base.is_list(obj) or (#obj > 0 and getmetatable(obj[1])) then
    local item = obj[1]
    local out = { format("a list of %d%s, printed one per line", #obj,
      item and getmetatable(item) and getmetatable(item).__name and (" " .. getmetatable(item).__name) or "") }
    if item and type(item) == "table" then
      out[#out + 1] = "  the first item:"
      out[#out + 1] = "  " .. describe_object(item):gsub("\n", "\n  ")
    end
    return concat(out, "\n")
  end
  local out = { format("%s%s", name or "a table", mt and mt.__tostring and (": " .. short(obj)) or "") }
  local about = name and M.module_summary(name:gsub("^proxyshard%.", "proxyshard.model."))
  if about then out[#out + 1] = "  " .. about end
  local fields = describe_fields(obj)
  if #fields > 0 then
    out[#out + 1] = "  fields:"
    for _, l in ipairs(fields) do out[#out + 1] = l end
  end
  local methods = type(mt) == "table" and methods_of(mt) or {}
  if #methods > 0 then out[#out + 1] = "  methods: " .. concat(methods, ", ") end
  return concat(out, "\n")
end

local function describe_module(t)
  local names = {}
  for k, v in pairs(t) do names[#names + 1] = format("%s%s", k, type(v) == "function" and "()" or "") end
  sort(names)
  return "a module table: " .. concat(names, ", ")
end

--- The help text for `what`: nothing (the overview), a call's name, an
-- object the library returned (a handle, a model, a list), a method
-- (client.purchase_order) or a module table (proxyshard.money).
function M.text(what)
  if what == nil or what == M then return M.overview() end
  if type(what) == "string" then
    return M.call(what) or format("no call named %q. help() lists them all.", what)
  end
  if type(what) == "function" then
    for handle, class in pairs(classes()) do
      for name, fn in pairs(class) do
        if fn == what then
          return M.call(handle .. "." .. name) or format("%s:%s — (not described)", M.BY_HANDLE[handle].var, name)
        end
      end
    end
    return "a function that is not a call of the library"
  end
  local money = package.loaded["proxyshard.money"]
  if money and money.is(what) then
    return format("%s — a money value: %d cents exactly (what.cents); + - and comparisons work on money; "
      .. "tostring gives dollars", tostring(what), what.cents)
  end
  if type(what) == "table" then
    local mt = getmetatable(what)
    local plain = mt == nil or (type(mt) == "table" and rawget(mt, "__name") == nil and rawget(mt, "__tostring") == nil)
    if plain and #what == 0 and next(what) ~= nil then return describe_module(what) end
    return describe_object(what)
  end
  return format("%s (a %s)", tostring(what), type(what))
end

setmetatable(M, {
  -- help(x) prints; at the REPL, `help` alone prints the overview
  __call = function(_, what)
    io.stdout:write(M.text(what), "\n")
  end,
  __tostring = function() return M.overview() end,
  __name = "proxyshard.help",
})

--- Set the global `help` (for an interactive session) and return it.
function M.global()
  _G.help = M
  return M
end

return M
