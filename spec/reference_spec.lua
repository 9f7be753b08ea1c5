-- The LDoc reference (scripts/docs.sh) documents every call users can
-- make: each row of the operation table on its handle's page (the handle's
-- class name: docs/reference/classes/proxyshard.order.html), with its
-- summary and its HTTP request, and each `all` method, hand-written method
-- of the handle tree and child maker. Those methods are made at run time,
-- so their pages come from scripts/docs-handles.lua: a row it forgets
-- fails here. And the plumbing (engine/, check/, most of wire/) stays off
-- the public pages, while every module the README and the user's guides
-- in docs/ name keeps its page.
local shell = require "support.shell"
local operations = require "proxyshard.operations"

local REF = "docs/reference/"

-- A page as text: tags kept (the anchors), HTML entities decoded.
local function page(path)
  local html = assert(shell.read_file(REF .. path), "no page " .. REF .. path)
  local entities = { amp = "&", lt = "<", gt = ">", quot = '"', nbsp = " " }
  -- LDoc writes only ASCII as numbers (&#39;); LuaJIT has no utf8.char
  return (html:gsub("&#(%d+);", function(n) return tonumber(n) < 128 and string.char(tonumber(n)) or nil end)
    :gsub("&(%a+);", function(e) return entities[e] end))
end

local function class_page(handle)
  return page("classes/" .. operations.handle[handle].class .. ".html")
end

-- The entry of method `name` on a class page: from its anchor to the next
-- one; nil when the page has no such anchor.
local function entry(text, handle, name)
  local anchor = ('<a name = "%s:%s"></a>'):format(operations.handle[handle].class, name)
  local from = text:find(anchor, 1, true)
  if not from then return nil end
  local to = text:find('<a name = "', from + #anchor, true)
  return text:sub(from, (to or #text + 1) - 1)
end

local function has(text, s)
  return text:lower():find(s:lower(), 1, true) ~= nil
end

describe("the LDoc reference", function()
  if not shell.sh("command -v ldoc >/dev/null 2>&1") then
    pending("ldoc is not installed (apt-get install lua-ldoc): the reference is not built, nor checked")
    return
  end

  setup(function()
    local out, ok = shell.run("bash scripts/docs.sh 2>&1")
    assert(ok, "scripts/docs.sh failed:\n" .. out)
  end)

  it("has every row on its handle's page, with its summary and its request", function()
    for _, row in ipairs(operations.rows) do
      local where = row.handle .. ":" .. row.name
      local e = entry(class_page(row.handle), row.handle, row.name)
      assert(e, where .. " is not on its handle's page")
      assert(has(e, row.summary), where .. "'s entry lacks its summary: " .. row.summary)
      assert(has(e, row.method .. " " .. row.path), where .. "'s entry lacks " .. row.method .. " " .. row.path)
    end
  end)

  it("has every `all` method, hand-written method and child maker", function()
    for _, node in ipairs(operations.handles) do
      local text = class_page(node.name)
      local names = {}
      for _, row in ipairs(operations.by_handle[node.name] or {}) do
        if row.all then names[#names + 1] = row.all.method end
      end
      for _, m in ipairs(node.methods or {}) do names[#names + 1] = m.name end
      for _, child in ipairs(operations.handles) do
        if child.parent == node.name then names[#names + 1] = child.maker end
      end
      for _, name in ipairs(names) do
        assert(entry(text, node.name, name), node.name .. ":" .. name .. " is not on its handle's page")
      end
    end
  end)

  it("keeps the plumbing off the public pages", function()
    local list = shell.run("cd " .. REF .. " && find . -name '*.html'")
    local pages = 0
    for path in list:gmatch("%./([^\n]+)") do
      pages = pages + 1
      local module = path:match("([^/]+)%.html$")
      assert(not (module:find("^proxyshard%.engine") or module:find("^proxyshard%.check%.")
        or module:find("^proxyshard%.wire%.")), "an internal module has a page: " .. path)
      -- engine/call.lua's begin, the call loop's entry
      assert(not page(path):find('<a name = "begin"></a>', 1, true), "begin is on the page " .. path)
    end
    assert.is_true(pages > 0, "no pages in " .. REF)
  end)

  -- The README and the guides that were its sections: what they name is
  -- what users are told to require. (docs/operations.md, docs/layout.md and
  -- docs/transport.md name internals on purpose: they are for contributors.)
  local USER_DOCS = { "README.md", "docs/library.md", "docs/command.md", "docs/reliability.md", "docs/money.md",
    "docs/nginx.md", "docs/jobs.md", "docs/proxies.md", "docs/setup.md", "docs/benchmarks.md" }

  it("keeps a page for every module the README and the guides name, and the transports", function()
    local names = { ["proxyshard.transport.curl"] = true, ["proxyshard.transport.nginx"] = true,
      ["proxyshard.transport.resty_http"] = true, ["proxyshard.transport.subrequest"] = true }
    for _, file in ipairs(USER_DOCS) do
      for name in assert(shell.read_file(file), "no " .. file):gmatch("proxyshard[%w_.]*[%w_]") do
        -- Lua modules only (not proxyshard.new, nor the C module proxyshard.core); the sandbox is
        -- documented by `bin/proxyshard-sandbox --help` and docs/sandbox.md, not here (config.ld)
        if package.searchpath(name, "lua/?.lua;lua/?/init.lua") and not name:find("^proxyshard%.sandbox") then
          names[name] = names[name] or file
        end
      end
    end
    for name, file in pairs(names) do
      assert(shell.read_file(REF .. "modules/" .. name .. ".html"),
        (file == true and "the transport " or (file .. " names ")) .. name .. ": no page")
    end
  end)
end)
