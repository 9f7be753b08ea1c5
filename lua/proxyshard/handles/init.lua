--- The handles users hold (client, order, add-on, residential, sub-user),
-- made from the handle tree of proxyshard.operations: a class per handle
-- with its constructor (the parent's maker method), the values it binds
-- for the rows, a method per row (through proxyshard.engine, or the one
-- spending flow for a row that spends), a method that reads every page
-- for a row with `all`, and the tree's hand-written methods.
--
-- A handle made with a bad argument (`client:order("x")`) is not nil —
-- that would break a chain with "attempt to index a nil value" — but
-- carries the error: every call on it returns nil, err, and so do the
-- handles made from it. The error is also the maker's second value, for
-- those who check early.
-- @module proxyshard.handles
local operations = require "proxyshard.operations"
local validate = require "proxyshard.check.validate"
local engine = require "proxyshard.engine"
local plan = require "proxyshard.engine.plan"
local base = require "proxyshard.model.base"
local calls = require "proxyshard.engine.call"
local paths_of = require "proxyshard.handles.paths"

local ipairs = ipairs
local select = select
local tostring = tostring
local require = require
local setmetatable = setmetatable
local format = string.format
local concat = table.concat
local unpack = table.unpack or unpack -- luacheck: ignore (LuaJIT)

local M = {}

--- The class of each handle, by name ("order").
M.classes = {}

-- The value at the keys of a field path on `h`.
local function read(h, path)
  for i = 1, #path do
    if h == nil then return nil end
    h = h[path[i]]
  end
  return h
end

-- tostring of a handle: the tree's `show` format and fields.
local function describe(node)
  local show, paths = node.show, {}
  for i = 2, #show do paths[i - 1] = paths_of.keys(show[i]) end
  return function(self)
    local values = {}
    for i = 1, #paths do values[i] = tostring(read(self, paths[i])) end
    return format(show[1], unpack(values, 1, #paths))
  end
end

-- The handles a maker made, by parent and value, while something holds
-- them (weak both ways: the cache keeps neither a parent nor a handle
-- alive). Speed: a script writes client:order(id):addon(key):quote(n)
-- call after call; the same handle comes back instead of a new table
-- checked again. A handle never changes once made, so sharing it is safe;
-- a refused value is not kept (its handle carries the error each time).
local function handle_cache()
  local by_parent = setmetatable({}, { __mode = "k" })
  local function find(parent, v)
    local made = by_parent[parent]
    return made and made[v]
  end
  local function keep(parent, v, h)
    local made = by_parent[parent]
    if not made then
      made = setmetatable({}, { __mode = "v" })
      by_parent[parent] = made
    end
    made[v] = h
    return h
  end
  return find, keep
end

-- The maker on the parent's class: parent:maker(v) → the child handle,
-- and its error as a second value. (Speed: the handle made whole by one
-- constructor, not grown key by key.)
local function maker(node, class)
  local check = validate[node.check]
  local field, param = node.field, node.param
  local find, keep = handle_cache()
  if node.parent == "client" then
    return function(client, v)
      local h = find(client, v)
      if h then return h end
      local value, err = check(v, param)
      if err then return setmetatable({ client = client, error = err }, class), err end
      return keep(client, v, setmetatable({ client = client, [field] = value }, class))
    end
  end
  local parent_field = node.parent
  return function(parent, v)
    local h = find(parent, v)
    if h then return h end
    local value, err = check(v, param)
    err = err or parent.error
    if err then
      return setmetatable({ client = parent.client, [field] = value, [parent_field] = parent, error = err }, class), err
    end
    return keep(parent, v, setmetatable({ client = parent.client, [field] = value, [parent_field] = parent }, class))
  end
end

local load_text = loadstring or load -- luacheck: ignore (Lua 5.1)

-- handle:bound() of a class, written for its paths (proxyshard.handles.paths):
-- "return { order = h.order.id, addon = h.key }" with nil checks, loaded
-- once.
local function bound_function(paths)
  local lines, fields = { "return function(h)" }, {}
  for i, path in ipairs(paths) do
    lines[#lines + 1] = "  " .. paths_of.reader("v" .. i, "h", path[2])
    fields[#fields + 1] = format("[%q] = v%d", path[1], i)
  end
  lines[#lines + 1] = "  return { " .. concat(fields, ", ") .. " }"
  lines[#lines + 1] = "end"
  return assert(load_text(concat(lines, "\n"), "=proxyshard.handles.bound"))()
end

-- What every method returns: its values, the result marked with the
-- client's redactor once its server has echoed the token
-- (proxyshard.model.base: the result's text never shows it).
local function returned(self, result, ...)
  if result ~= nil then
    local redactor = calls.echoed(self.client or self)
    if redactor then base.redacting(result, redactor) end
  end
  return result, ...
end

-- A row's method. Positional rows take (args..., opts); table rows take
-- (params, opts). A spending row goes through the one spending flow. (Speed:
-- the others are written for their number of arguments, which go to the
-- engine as they are, no table made.)
local function method(row)
  local n = plan.arity(row)
  assert(n <= engine.MAX_ARGS, row.name .. ": more arguments than engine.run passes")
  if row.spends then
    return function(self, ...)
      return returned(self, require("proxyshard.flows.spend").run(self, row, { ... }, (select(n + 1, ...))))
    end
  end
  local names = {}
  for i = 1, n do names[i] = "a" .. i end
  local list = concat(names, ", ")
  local src = format("local returned, run, row = ...\nreturn function(self, %sopts)\n"
    .. "  return returned(self, run(self, row, opts%s))\nend",
    n > 0 and list .. ", " or "", n > 0 and ", " .. list or "")
  return assert(load_text(src, "=proxyshard.handles." .. row.name))(returned, engine.run, row)
end

-- The method of a row's `all`: every page (proxyshard.flows.pages).
local function all_pages(row)
  if row.all.params then
    return function(self, params, opts)
      return returned(self, require("proxyshard.flows.pages").run(self, row, params, opts))
    end
  end
  return function(self, opts) return returned(self, require("proxyshard.flows.pages").run(self, row, nil, opts)) end
end

-- A flow written by hand: require(flow)[fn or "run"](handle, ...).
local function flow_method(flow, fn)
  fn = fn or "run"
  return function(self, ...) return returned(self, require(flow)[fn](self, ...)) end
end

for _, node in ipairs(operations.handles) do
  local class = base.class(node.class, node.show and describe(node))
  --- The values this handle binds, by handle name ({ order = 12345,
  -- addon = "p0f_slots" }): what the rows' `bound` parameters take.
  -- @local
  class.bound = bound_function(paths_of.of(node.name))
  for _, row in ipairs(operations.by_handle[node.name] or {}) do
    class[row.name] = method(row)
    if row.all then class[row.all.method] = all_pages(row) end
  end
  for _, m in ipairs(node.methods or {}) do
    if m.flow then class[m.name] = flow_method(m.flow, m.fn) end
  end
  M.classes[node.name] = class
end

for _, node in ipairs(operations.handles) do
  if node.maker then M.classes[node.parent][node.maker] = maker(node, M.classes[node.name]) end
end

--- The handle `name` ("addon") that binds `bound` ({ order = 12345, addon
-- = "p0f_slots" }, what handle:bound() gave), made from `client` down the
-- tree: for a spend read back from the journal.
function M.from_bound(client, name, bound)
  local chain, node = {}, operations.handle[name]
  while node and node.parent do
    table.insert(chain, 1, node)
    node = operations.handle[node.parent]
  end
  local h = client
  for _, n in ipairs(chain) do h = h[n.maker](h, bound[n.name]) end
  return h
end

--- The handle tree's node of a handle object, or nil.
function M.node_of(h)
  local mt = getmetatable(h)
  for _, node in ipairs(operations.handles) do
    if M.classes[node.name] == mt then return node end
  end
end

return M
