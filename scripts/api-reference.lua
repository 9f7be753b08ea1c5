#!/usr/bin/env lua5.4
--- The library guide's call table (docs/library.md, section "The calls"),
-- made from the operation rows
-- (lua/proxyshard/operations.lua): one table per handle (client, order,
-- add-on, residential, sub-user), each call with its arguments, its HTTP
-- method and path and its summary, and one example per handle, between the
-- markers <!-- api-table:begin --> and <!-- api-table:end -->.
--   lua5.4 scripts/api-reference.lua            prints the block
--   lua5.4 scripts/api-reference.lua --write    puts it into docs/library.md,
--                                               in place of the block there
-- spec/readme_api_spec.lua fails when the guide's block is not what this
-- prints, so the guide cannot drift from the table.
local here = (arg and arg[0] or ""):match("^(.*)/scripts/[^/]*$") or "."
package.path = here .. "/lua/?.lua;" .. here .. "/lua/?/init.lua;" .. package.path

local operations = require "proxyshard.operations"

local BEGIN, END = "<!-- api-table:begin -->", "<!-- api-table:end -->"
-- The file whose block --write replaces.
local FILE = "docs/library.md"

-- The handles in the guide's order: the variable a call is made on, and
-- how that handle is made.
local HANDLES = {
  { handle = "client", title = "Client", on = "client", made = 'client = proxyshard.new{ token = "..." }' },
  { handle = "order", title = "An order", on = "order", made = "order = client:order(order_id)" },
  { handle = "addon", title = "An add-on of an order", on = "addon", made = 'addon = order:addon("p0f_slots")' },
  { handle = "residential", title = "Residential: a proxy type", on = "res",
    made = 'res = client:residential("premium")', note = '`"standart"` or `"premium"`; `"standard"` is taken '
      .. 'for `"standart"`' },
  { handle = "sub_user", title = "Residential: a sub-user", on = "sub_user", made = 'sub_user = res:sub_user("u-1")' },
}

-- Methods written on top of a row that page through it: they are not rows
-- of their own, but calls of the API all the same.
local PAGERS = {
  client = { { name = "all_orders", args = "{ status }", row = "orders", what = "every page of `orders`" } },
  residential = { { name = "all_sub_users", args = "", row = "sub_users", what = "every page of `sub_users`" } },
}

-- The parameters the caller gives (not bound by the handle, not constant).
local function caller_params(row)
  local list = {}
  for _, p in ipairs(row.params) do
    if not p.bound and p.value == nil then list[#list + 1] = p end
  end
  return list
end

-- `name(args [, opts])` as a caller writes it: a table row's fields in
-- braces (`?` marks the optional ones), positional arguments by name, and
-- the parameters that come from the call's options, when there are any.
local function signature(row)
  local params = caller_params(row)
  if row.args == "table" then
    local fields = {}
    for _, p in ipairs(params) do fields[#fields + 1] = p.name .. (p.required and "" or "?") end
    local opts = row.options and ("{ " .. table.concat(row.options, ", ") .. ", … }") or "opts"
    return ("%s({ %s } [, %s])"):format(row.name, table.concat(fields, ", "), opts)
  end
  local positional, from_opts = {}, {}
  for _, name in ipairs(row.args) do positional[name] = true end
  for _, p in ipairs(params) do
    if not positional[p.name] then from_opts[#from_opts + 1] = p.name end
  end
  for _, name in ipairs(row.options or {}) do from_opts[#from_opts + 1] = name end
  local opts = #from_opts > 0 and ("{ " .. table.concat(from_opts, ", ") .. ", … }") or "opts"
  if #row.args == 0 then return ("%s([%s])"):format(row.name, opts) end
  return ("%s(%s [, %s])"):format(row.name, table.concat(row.args, ", "), opts)
end

-- A markdown table cell: no `|` may end it early.
local function cell(text)
  return (text:gsub("|", "\\|"))
end

-- The example shown for a handle: that of its first call that takes an
-- argument, else of its first call.
local function example_of(rows)
  for _, row in ipairs(rows) do
    if #caller_params(row) > 0 and row.example then return row.example end
  end
  return rows[1] and rows[1].example
end

local function block()
  local out = { BEGIN }
  local function add(line) out[#out + 1] = line end
  for _, h in ipairs(HANDLES) do
    local rows = operations.by_handle[h.handle] or {}
    add("")
    add(("**%s** — `%s`%s"):format(h.title, h.made, h.note and (" (" .. h.note .. ")") or ""))
    add("")
    add("| call | request | |")
    add("|---|---|---|")
    for _, row in ipairs(rows) do
      add(("| `%s:%s` | `%s %s` | %s |"):format(h.on, cell(signature(row)), row.method, row.path,
        cell(row.summary)))
    end
    for _, pager in ipairs(PAGERS[h.handle] or {}) do
      local row = assert(operations.find(h.handle, pager.row), "no row " .. pager.row .. " for " .. pager.name)
      local args = pager.args ~= "" and (pager.args .. " [, opts]") or "[opts]"
      add(("| `%s:%s(%s)` | `%s %s`, page after page | %s: one list |"):format(h.on, pager.name, args,
        row.method, row.path, pager.what))
    end
    local example = example_of(rows)
    if example then
      add("")
      add("Example: `" .. example .. "`")
    end
  end
  add("")
  add(END)
  return table.concat(out, "\n") .. "\n"
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  return text
end

local function plain(s)
  return (s:gsub("%p", "%%%0"))
end

if arg and arg[1] == "--write" then
  local path = here .. "/" .. FILE
  local text = read(path)
  local first, last = text:find(plain(BEGIN) .. ".-" .. plain(END) .. "\n")
  assert(first, FILE .. " has no " .. BEGIN .. " … " .. END .. " block to replace")
  local f = assert(io.open(path, "wb"))
  f:write(text:sub(1, first - 1), block(), text:sub(last + 1))
  f:close()
elseif arg and arg[1] then
  io.stderr:write("usage: lua5.4 scripts/api-reference.lua [--write]\n")
  os.exit(2)
else
  io.write(block())
end
