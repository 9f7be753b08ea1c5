-- The README's API call table is the one scripts/api-reference.lua makes
-- from the operation rows: the block between <!-- api-table:begin --> and
-- <!-- api-table:end --> in the "## API" section is exactly what the script
-- prints, so a row added, renamed or moved shows up in the README or fails
-- here (`lua5.4 scripts/api-reference.lua --write` puts it back). And every
-- row's example, shown there, is Lua that calls the row's method.
local shell = require "support.shell"
local operations = require "proxyshard.operations"

local BEGIN, END = "<!-- api-table:begin -->", "<!-- api-table:end -->"

local function plain(s)
  return (s:gsub("%p", "%%%0"))
end

local function api_section()
  local readme = assert(shell.read_file("README.md"))
  return assert(readme:match("\n## API\n(.-)\n## "), "no \"## API\" section in README.md"), readme
end

describe("the README's API call table", function()
  it("is in the API section, once", function()
    local section, readme = api_section()
    local _, in_readme = readme:gsub(plain(BEGIN), "")
    assert.are.equal(1, in_readme, "README.md should have exactly one " .. BEGIN)
    assert.truthy(section:find(plain(BEGIN) .. ".-" .. plain(END)), "the block is not inside the \"## API\" section")
  end)

  it("is what scripts/api-reference.lua prints from the rows", function()
    local printed, ok = shell.run("lua5.4 scripts/api-reference.lua")
    assert.is_true(ok, "scripts/api-reference.lua failed:\n" .. printed)
    local section = api_section()
    local block = assert(section:match("(" .. plain(BEGIN) .. ".-" .. plain(END) .. "\n)"),
      "no " .. BEGIN .. " … " .. END .. " block in the API section")
    -- the first line that differs says where, before the whole comparison
    local readme_lines, script_lines = {}, {}
    for line in block:gmatch("([^\n]*)\n") do readme_lines[#readme_lines + 1] = line end
    for line in printed:gmatch("([^\n]*)\n") do script_lines[#script_lines + 1] = line end
    for i = 1, math.max(#readme_lines, #script_lines) do
      assert(readme_lines[i] == script_lines[i], ("the README's API table differs from the rows at its line %d:\n"
        .. "README: %s\nrows:   %s\n(run lua5.4 scripts/api-reference.lua --write)"):format(i,
        tostring(readme_lines[i]), tostring(script_lines[i])))
    end
    assert.are.equal(printed, block)
  end)

  it("lists every row's call, and shows one example per handle", function()
    local section = api_section()
    local block = section:match(plain(BEGIN) .. "(.-)" .. plain(END))
    local receivers = { client = "client", order = "order", addon = "addon", residential = "res",
      sub_user = "sub_user" }
    for _, row in ipairs(operations.rows) do
      local call = "`" .. receivers[row.handle] .. ":" .. row.name .. "("
      assert.truthy(block:find(call, 1, true), "the README's table has no " .. call)
      assert.truthy(block:find("`" .. row.method .. " " .. row.path .. "`", 1, true),
        row.handle .. ":" .. row.name .. "'s request is not in the README's table")
    end
    local _, examples = block:gsub("\nExample: `", "")
    assert.are.equal(5, examples, "one example per handle: client, order, add-on, residential, sub-user")
  end)

  it("shows examples that are Lua calling the row's method", function()
    for _, row in ipairs(operations.rows) do
      local label = row.handle .. ":" .. row.name
      assert.is_string(row.example, label .. " has no example")
      assert.truthy(load("return " .. row.example, label, "t", {}), label .. "'s example is not Lua: " .. row.example)
      assert.truthy(row.example:find(":" .. row.name .. "[%s({\"]"), label .. "'s example does not call "
        .. row.name .. ": " .. row.example)
    end
  end)
end)
