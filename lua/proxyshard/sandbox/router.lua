--- The sandbox's routes, made from the operation table
-- (proxyshard.operations): a method and a path give the operation's row and
-- the raw text of its path parameters.
--
--   local router = require("proxyshard.sandbox.router").new(rows)
--   local route, miss = router:match("GET", "/user/api/orders/12345")
--   -- route = { row = <order fetch>, path = { id = "12345" } }
--   -- miss  = { status = 404 } or { status = 405, allow = "GET, POST" }
--
-- The rules, segment by segment (a path is split at "/"):
--   * a literal segment of a template beats a parameter, so
--     /user/api/orders/purchase is never /user/api/orders/{id};
--   * a parameter checked as an id ({id}, {order_id}) takes digits only;
--     any other parameter takes one non-empty segment (no "/");
--   * when the literal branch leads nowhere, the parameter's is tried;
--   * the first path that matches, literals first, decides: it has the
--     method (the route), or it does not (405, with its methods in Allow);
--     no path at all is a 404.
-- Two rows with the same method and path are a mistake in the table, so
-- `new` raises.
local M = {}

local Router = {}
Router.__index = Router

local function new_node()
  return { literal = {}, params = {}, methods = {} }
end

-- "/a/b/" → { "a", "b", "" }: a trailing slash is an empty segment, which
-- no template has, so it matches nothing. nil for a path without a leading
-- slash.
local function segments(path)
  if path:sub(1, 1) ~= "/" then return nil end
  local out = {}
  for seg in (path:sub(2) .. "/"):gmatch("([^/]*)/") do out[#out + 1] = seg end
  return out
end

local function path_param(row, name)
  for _, p in ipairs(row.params) do
    if p.at == "path" and p.wire == name then return p end
  end
  error(("operation %s.%s: path parameter {%s} is not in its params"):format(row.handle, row.name, name), 3)
end

-- The child of `node` for the parameter `name`, made on first use.
local function param_child(node, name, digits)
  for _, p in ipairs(node.params) do
    if p.name == name and p.digits == digits then return p.node end
  end
  local child = new_node()
  node.params[#node.params + 1] = { name = name, digits = digits, node = child }
  return child
end

function Router:add(row)
  local node = self.root
  for _, seg in ipairs(assert(segments(row.path), row.path)) do
    local name = seg:match("^{(.+)}$")
    if name then
      node = param_child(node, name, path_param(row, name).check == "id")
    else
      node.literal[seg] = node.literal[seg] or new_node()
      node = node.literal[seg]
    end
  end
  if node.methods[row.method] then
    error(("two operations for %s %s"):format(row.method, row.path), 2)
  end
  node.methods[row.method] = row
end

-- The first node that ends the path (literals first), and the captures on
-- the way to it; nil when none does.
local function find(node, segs, i, captures)
  if i > #segs then
    if next(node.methods) then return node, captures end
    return nil
  end
  local seg = segs[i]
  local literal = node.literal[seg]
  if literal then
    local found, got = find(literal, segs, i + 1, captures)
    if found then return found, got end
  end
  if seg == "" then return nil end
  for _, p in ipairs(node.params) do
    if not p.digits or seg:find("^%d+$") then
      local with = {}
      for k, v in pairs(captures) do with[k] = v end
      with[p.name] = seg
      local found, got = find(p.node, segs, i + 1, with)
      if found then return found, got end
    end
  end
  return nil
end

local function allow_header(methods)
  local names = {}
  for m in pairs(methods) do names[#names + 1] = m end
  table.sort(names)
  return table.concat(names, ", ")
end

--- `{ row, path = { wire name = raw segment } }`, or nil and the miss:
-- `{ status = 404 }`, or `{ status = 405, allow = "..." }`.
function Router:match(method, path)
  local segs = segments(path)
  local node, captures
  if segs then node, captures = find(self.root, segs, 1, {}) end
  if not node then return nil, { status = 404 } end
  local row = node.methods[method]
  if not row then return nil, { status = 405, allow = allow_header(node.methods) } end
  return { row = row, path = captures }
end

--- A router over `rows` (default: every row of proxyshard.operations).
function M.new(rows)
  local self = setmetatable({ root = new_node() }, Router)
  for _, row in ipairs(rows or require("proxyshard.operations").rows) do self:add(row) end
  return self
end

return M
