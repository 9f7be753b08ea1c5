-- The library guide's call table (docs/library.md, the README's guide to
-- the API) is the one scripts/api-reference.lua makes from the operation
-- rows: the block between <!-- api-table:begin --> and <!-- api-table:end -->
-- in its "## The calls" section is exactly what the script prints, so a
-- row added, renamed or moved shows up in the guide or fails here
-- (`lua5.4 scripts/api-reference.lua --write` puts it back). And every
-- row's example, shown there, is Lua that calls the row's method.
--
-- And the documentation hangs together: every relative link of README.md
-- and docs/*.md leads to a file that exists, and a link to a heading of a
-- Markdown file (`library.md#errors`, `#the-calls`) to a heading that is
-- there, by GitHub's rule for anchors.
local shell = require "support.shell"
local operations = require "proxyshard.operations"

local GUIDE = "docs/library.md"
local BEGIN, END = "<!-- api-table:begin -->", "<!-- api-table:end -->"

local function plain(s)
  return (s:gsub("%p", "%%%0"))
end

local function api_section()
  local guide = assert(shell.read_file(GUIDE))
  return assert(guide:match("\n## The calls\n(.-)\n## "), "no \"## The calls\" section in " .. GUIDE), guide
end

describe("the library guide's call table", function()
  it("is in the guide's \"The calls\" section, once", function()
    local section, guide = api_section()
    local _, in_guide = guide:gsub(plain(BEGIN), "")
    assert.are.equal(1, in_guide, GUIDE .. " should have exactly one " .. BEGIN)
    assert.truthy(section:find(plain(BEGIN) .. ".-" .. plain(END)), "the block is not in the \"The calls\" section")
  end)

  it("is the one the README leads to", function()
    local readme = assert(shell.read_file("README.md"))
    assert.truthy(readme:find("](" .. GUIDE .. ")", 1, true), "README.md has no link to " .. GUIDE)
  end)

  it("is what scripts/api-reference.lua prints from the rows", function()
    local printed, ok = shell.run("lua5.4 scripts/api-reference.lua")
    assert.is_true(ok, "scripts/api-reference.lua failed:\n" .. printed)
    local section = api_section()
    local block = assert(section:match("(" .. plain(BEGIN) .. ".-" .. plain(END) .. "\n)"),
      "no " .. BEGIN .. " … " .. END .. " block in the API section")
    -- the first line that differs says where, before the whole comparison
    local guide_lines, script_lines = {}, {}
    for line in block:gmatch("([^\n]*)\n") do guide_lines[#guide_lines + 1] = line end
    for line in printed:gmatch("([^\n]*)\n") do script_lines[#script_lines + 1] = line end
    for i = 1, math.max(#guide_lines, #script_lines) do
      assert(guide_lines[i] == script_lines[i], ("the guide's call table differs from the rows at its line %d:\n"
        .. "guide: %s\nrows:  %s\n(run lua5.4 scripts/api-reference.lua --write)"):format(i,
        tostring(guide_lines[i]), tostring(script_lines[i])))
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
      assert.truthy(block:find(call, 1, true), "the guide's table has no " .. call)
      assert.truthy(block:find("`" .. row.method .. " " .. row.path .. "`", 1, true),
        row.handle .. ":" .. row.name .. "'s request is not in the guide's table")
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

-- The documentation's links. A file's text without its fenced code blocks
-- (```...```), where a "#" line is no heading and "[a](b)" no link.
local function prose(text)
  local out, fenced = {}, false
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    if line:match("^%s*```") then
      fenced = not fenced
      out[#out + 1] = ""
    else
      out[#out + 1] = fenced and "" or line
    end
  end
  return table.concat(out, "\n")
end

-- The anchors of a Markdown text's headings, as GitHub makes them: the
-- heading's text (a link's text for a link) in lower case, without
-- punctuation but "-" and "_", each space a "-"; the second of two equal
-- ones gets "-1", the third "-2"...
local PUNCTUATION_UTF8 = { "—", "–", "→", "×", "…", "·", "’", "“", "”" }

local function anchors(text)
  local found, count = {}, {}
  for line in prose(text):gmatch("[^\n]+") do
    local title = line:match("^#+%s+(.-)%s*$")
    if title then
      local slug = title:gsub("%[([^%]]*)%]%([^)]*%)", "%1"):lower()
      for _, mark in ipairs(PUNCTUATION_UTF8) do slug = slug:gsub(plain(mark), "") end
      slug = slug:gsub("[^%w _%-\128-\255]", ""):gsub(" ", "-")
      local n = count[slug]
      found[n and (slug .. "-" .. n) or slug] = true
      count[slug] = (n or 0) + 1
    end
  end
  return found
end

local function exists(path)
  return os.rename(path, path) and true or false
end

-- The Markdown files of the documentation.
local function documents()
  local list = { "README.md" }
  for file in shell.run("ls docs/*.md"):gmatch("[^\n]+") do list[#list + 1] = file end
  return list
end

describe("the documentation's links", function()
  it("lead to files that exist, and to headings that are there", function()
    local broken, checked = {}, 0
    local anchors_of = {}
    local function anchors_in(file)
      anchors_of[file] = anchors_of[file] or anchors(assert(shell.read_file(file), "no " .. file))
      return anchors_of[file]
    end
    for _, file in ipairs(documents()) do
      local dir = file:match("^(.*)/[^/]*$")
      -- inline code is no link either: `t[k](x)` is Lua
      local text = prose(assert(shell.read_file(file))):gsub("`[^`\n]*`", "``")
      for target in text:gmatch("%[[^%]]*%]%(([^)%s]+)[^)]*%)") do
        if not target:match("^%a[%w+.-]*:") then -- http:, https:, mailto: are not checked here
          checked = checked + 1
          local path, anchor = target:match("^([^#]*)#?(.*)$")
          local resolved = path == "" and file or (dir and (dir .. "/" .. path) or path)
          if not exists(resolved) then
            broken[#broken + 1] = file .. ": " .. target .. " (no " .. resolved .. ")"
          elseif anchor ~= "" then
            if not resolved:match("%.md$") then
              broken[#broken + 1] = file .. ": " .. target .. " (an anchor into a file that is not Markdown)"
            elseif not anchors_in(resolved)[anchor] then
              broken[#broken + 1] = file .. ": " .. target .. " (no heading #" .. anchor .. " in " .. resolved .. ")"
            end
          end
        end
      end
    end
    assert.is_true(checked > 50, "too few links found: " .. checked)
    assert.are.same({}, broken)
  end)

  it("reach every page of docs/ from the README", function()
    local readme = assert(shell.read_file("README.md"))
    local missing = {}
    for _, file in ipairs(documents()) do
      if file ~= "README.md" and not readme:find("](" .. file, 1, true) then missing[#missing + 1] = file end
    end
    assert.are.same({}, missing)
  end)
end)
