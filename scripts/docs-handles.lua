#!/usr/bin/env lua5.4
--- LDoc sources for the handles users hold. Their methods are made at run
-- time from the rows of lua/proxyshard/operations.lua and its handle tree
-- (proxyshard.handles), so they have no source for LDoc to read: this
-- writes one, a file per handle of the tree, OUTDIR/proxyshard/<name>.lua
-- (`@classmod proxyshard.order`, the class name the objects carry), with an
-- entry per row (signature, summary, HTTP, parameters, options, result,
-- example, command), per `all` method, per hand-written method of the tree
-- and per child maker. scripts/docs.sh runs it into build-docs/handles/;
-- spec/reference_spec.lua checks that every row reaches the reference.
--   lua5.4 scripts/docs-handles.lua OUTDIR
local here = (arg and arg[0] or ""):match("^(.*)/scripts/[^/]*$") or "."
package.path = here .. "/lua/?.lua;" .. here .. "/lua/?/init.lua;" .. package.path

local operations = require "proxyshard.operations"
local help = require "proxyshard.help"
local settings = require "proxyshard.check.settings"
local validate = require "proxyshard.check.validate"

local format = string.format
local concat = table.concat

local OUT = arg[1] or error("usage: lua5.4 scripts/docs-handles.lua OUTDIR")

-- The plain-text format puts text into the HTML as is.
local function html(s)
  return (tostring(s):gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"))
end

-- A module's source lines (read once), or {} when it is not found.
local sources = {}
local function source(module)
  if not sources[module] then
    local lines, path = {}, package.searchpath(module, package.path)
    if path then for line in io.lines(path) do lines[#lines + 1] = line end end
    sources[module] = lines
  end
  return sources[module]
end

-- The doc comment above the line matching `pattern` in `module`, as one
-- line; nil when there is none. (A module's first paragraph is
-- help.module_summary's.)
local function doc(module, pattern)
  local lines, last = source(module), nil
  for i, line in ipairs(lines) do
    if line:find(pattern) then last = i - 1 break end
  end
  if not last then return nil end
  local first = last + 1
  while first > 1 and lines[first - 1]:find("^%-%-") do first = first - 1 end
  local out = {}
  for i = first, last do
    local text = lines[i]:match("^%-%-%-? ?(.*)$")
    if not text or text:find("^@") or (text == "" and #out > 0) then break end
    out[#out + 1] = text
  end
  return #out > 0 and concat(out, " ") or nil
end

-- What a validator of proxyshard.check.validate accepts: its doc comment,
-- with the module's constants it names (MAX_QTY) as their values.
local function validator(check)
  local about = doc("proxyshard.check.validate", "^function M%." .. check .. "%(")
  about = about and about:gsub("%u[%u_]+", function(name)
    local v = validate[name]
    if type(v) == "table" then return concat(v, ", ") end
    return v ~= nil and tostring(v) or nil
  end)
  return "checked by `" .. check .. "`" .. (about and (": " .. about) or "")
end

-- A call option: the comment of its default, in proxyshard.check.settings
-- or proxyshard.engine.retry (`name = value, -- what it is`).
local function call_option(name)
  for _, module in ipairs({ "proxyshard.check.settings", "proxyshard.engine.retry" }) do
    for _, line in ipairs(source(module)) do
      local value, about = line:match("^%s*" .. name .. " = ([^,]+),%s*%-%- (.*)$")
      if value then return format("%s (the client's, %s by default)", about, value) end
    end
  end
  return "as proxyshard.new's option of that name"
end

local CALL_OPTIONS = {}
for name in pairs(settings.CALL_OPTIONS) do CALL_OPTIONS[#CALL_OPTIONS + 1] = name end
table.sort(CALL_OPTIONS)

local signature = help.signature

-- Where a parameter's value comes from (help.param_source), in words.
local function where(p, row)
  local from, i = help.param_source(p, row)
  if from == "handle" then return "not an argument: the handle's (" .. operations.handle[p.bound].made .. ")" end
  if from == "constant" then return format("not an argument: always %q", p.value) end
  if from == "field" then return "a field of the table" end
  if from == "argument" then return "argument " .. i end
  return "an option (opts." .. p.name .. ")"
end

local function describe_param(p, row)
  local sent = p.at == "path" and ("the path's {" .. p.wire .. "}")
    or p.at == "query" and ("the query's " .. p.wire) or ("the body's " .. p.wire)
  return format("%s; sent as %s; %s; %s", where(p, row), sent, p.required and "required" or "optional",
    validator(p.check))
end

-- A line as a sentence: a capital first, a full stop last.
local function sentence(s)
  s = s:gsub("^%l", string.upper)
  return s:find("[.?!]$") and s or s .. "."
end

-- Tags appended to a list.
local function append(list, more)
  return table.move(more, 1, #more, #list + 1, list)
end

-- A comment block from its lines ("" a paragraph break) and tags. LDoc
-- takes the summary up to the first ". ": inside the first line, a
-- non-breaking space keeps "e.g. x" from ending it.
local function block(lines, tags)
  local out = { "--- " .. lines[1]:gsub("%. (.)", ".&nbsp;%1") }
  for i = 2, #lines do out[#out + 1] = lines[i] == "" and "--" or ("-- " .. lines[i]) end
  for _, t in ipairs(tags) do out[#out + 1] = "-- @" .. t end
  return concat(out, "\n") .. "\n"
end

-- `opts` and its fields: the row's own options and its parameters taken
-- from opts; the call options are described once, at the top of the page.
local function opts_tags(row)
  local tags = { "" }
  for _, name in ipairs(row and row.options or {}) do
    tags[#tags + 1] = format("param opts.%s %s", name, html(help.FLOW_OPTIONS[name]))
  end
  for _, p in ipairs(row and row.params or {}) do
    if help.param_source(p, row) == "option" then
      tags[#tags + 1] = format("param opts.%s %s", p.name, html(describe_param(p, row)))
    end
  end
  tags[1] = "param[opt] opts the options: " .. (#tags > 1 and "those below, and " or "")
    .. "the call options (" .. concat(CALL_OPTIONS, ", ") .. ", at the top of the page)"
  return tags
end

local function what_it_does(row)
  if row.spends then
    return "Charges the wallet (proxyshard.flows.spend): priced first, never above opts.max_total, "
      .. "and with opts.reconcile a lost answer is re-read rather than bought twice."
  end
  if row.class == "write" then
    return "Changes state: never sent twice blindly; a lost answer is an unknown_outcome error."
  end
  return "Only reads (retried when that is safe)" .. (row.auth == false and "; no token is sent." or ".")
end

local function command_of(row)
  local ok, commands = pcall(require, "proxyshard.cli.commands")
  local command = ok and commands.for_row(row)
  return command and commands.usage(command)
end

local function on(node)
  return "On " .. html(node.var .. " = " .. node.made) .. "."
end

local function row_entry(row)
  local sig, command = signature(row), command_of(row)
  local lines = { html(sentence(row.summary)), "", "HTTP: " .. html(row.method .. " " .. row.path), "",
    what_it_does(row) .. " " .. on(operations.handle[row.handle]) }
  if command then append(lines, { "", "The command: " .. html(command) }) end
  -- the caller's arguments first (a table's fields under `params`), then
  -- opts, then what the handle gives or the call always sends
  local tags, fields, others = { "function " .. row.name, "signature " .. html(sig) }, {}, {}
  for _, p in ipairs(row.params) do
    local kind, text = help.param_source(p, row), html(describe_param(p, row))
    if kind == "argument" then
      tags[#tags + 1] = format("param %s %s", p.name, text)
    elseif kind == "field" then
      fields[#fields + 1] = format("param params.%s %s", p.name, text)
    elseif kind == "handle" or kind == "constant" then
      others[#others + 1] = format("param %s %s", p.name, text)
    end
  end
  if #fields > 0 then append(tags, { "param params a table of named fields:" }) end
  append(append(append(tags, fields), opts_tags(row)), others)
  if row.model then
    local model = "proxyshard.model." .. row.model
    tags[#tags + 1] = format("return @{%s}: %s", model, html(help.module_summary(model) or ""))
    for _, name in ipairs(row.also or {}) do tags[#tags + 1] = "return " .. name .. " (a second value)" end
  else
    tags[#tags + 1] = "return true, when the status is 2xx"
  end
  tags[#tags + 1] = "usage " .. row.example
  return block(lines, tags)
end

-- The method of a row's `all`: every page read (proxyshard.flows.pages).
local function all_entry(row)
  local all = row.all
  local sig = format("%s:%s(%s)", operations.handle[row.handle].var, all.method,
    all.params and ("{ " .. concat(all.params, ", ") .. " } [, opts]") or "[opts]")
  local tags = { "function " .. all.method, "signature " .. html(sig) }
  if all.params then
    tags[#tags + 1] = "param params a table of named fields:"
    for _, p in ipairs(row.params) do
      for _, name in ipairs(all.params) do
        if p.name == name then tags[#tags + 1] = format("param params.%s %s", name, html(describe_param(p, row))) end
      end
    end
  end
  append(tags, opts_tags())
  tags[#tags + 1] = format("return one list of the items of every page's %s", all.field)
  return block({ html(sentence(all.summary)), "",
    "Reads every page of " .. html(signature(row)) .. ", all within one deadline (proxyshard.flows.pages). "
      .. on(operations.handle[row.handle]) }, tags)
end

-- A method the tree lists by hand (map, close, top_up_p0f): a flow's
-- own text, or where it is written.
local function tree_entry(node, m)
  local sig = format("%s:%s(%s)", node.var, m.name, m.args)
  local about = m.flow and help.module_summary(m.flow)
  local lines = { html(sentence(m.summary)), "" }
  if about then append(lines, { html(about), "" }) end
  lines[#lines + 1] = "Written in " .. (m.flow or ("proxyshard.handles." .. node.name)) .. ". " .. on(node)
  return block(lines, { "function " .. m.name, "signature " .. html(sig) })
end

-- The maker of a child handle: client:order(order_id).
local function maker_entry(child)
  local sig = format("%s:%s(%s)", operations.handle[child.parent].var, child.maker, child.param)
  return block({ html(sentence(child.summary)), "",
    "A bad " .. child.param .. " raises nothing: the handle carries the error (every call on it returns "
      .. "nil, err), and it is the second value." },
    { "function " .. child.maker, "signature " .. html(sig),
      format("param %s %s", child.param, html(validator(child.check))),
      format("return @{%s}: the handle", child.class),
      "usage " .. child.var .. " = " .. child.made })
end

-- The page's own text: what the handle is, how it is made, the call options.
local function header(node)
  local about = node.summary or node.name
  local options = {}
  for _, name in ipairs(CALL_OPTIONS) do options[#options + 1] = name .. ": " .. call_option(name) end
  return block({ html(sentence(about)), "", html(node.var .. " = " .. node.made), "",
    "Its calls are made from the rows of proxyshard.operations whose handle is \"" .. node.name .. "\". Each "
      .. "returns its result, or nil and an error (err.kind: one of proxyshard.errors.KINDS).", "",
    "The call options, which every call takes in its last argument, opts (for that call, instead of the "
      .. "client's): " .. html(concat(options, "; ")) .. ".", "",
    "Generated by scripts/docs-handles.lua from lua/proxyshard/operations.lua." },
    { "classmod " .. node.class })
end

local function page(node)
  local parts, rows = { header(node) }, operations.by_handle[node.name] or {}
  for _, row in ipairs(rows) do parts[#parts + 1] = row_entry(row) end
  for _, row in ipairs(rows) do
    if row.all then parts[#parts + 1] = all_entry(row) end
  end
  for _, m in ipairs(node.methods or {}) do parts[#parts + 1] = tree_entry(node, m) end
  for _, child in ipairs(operations.handles) do
    if child.parent == node.name then parts[#parts + 1] = maker_entry(child) end
  end
  return concat(parts, "\n")
end

for _, node in ipairs(operations.handles) do
  local path = OUT .. "/" .. node.class:gsub("%.", "/") .. ".lua"
  assert(os.execute("mkdir -p '" .. path:match("^(.*)/"):gsub("'", "'\\''") .. "'"), "cannot create " .. path)
  local f = assert(io.open(path, "w"))
  f:write(page(node))
  f:close()
end
