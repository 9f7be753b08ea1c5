-- What `proxyshard` says of itself (issue 18, item 3): --version and
-- `version`, `help [COMMAND]`, the shells' completion scripts and the
-- manual page proxyshard(1), each made from the data --help is made from.
-- The shells and man/groff are used when installed (scripts/setup.sh's
-- test set has bash, man-db and groff-base); a missing one is said, and
-- its check skipped.
local cjson = require "cjson"
local shell = require "support.shell"
local commands = require "proxyshard.cli.commands"
local parser = require "proxyshard.cli.parser"
local exit = require "proxyshard.cli.exit"
local man = require "proxyshard.cli.man"
local cli = require "proxyshard.cli"

local q = shell.q
local ROOT = shell.run("pwd"):gsub("%s+$", "")
local VERSION = require "proxyshard.version"

-- bin/proxyshard as a process (support.command): stdout, stderr, exit status
local proxyshard = require("support.command").run

-- Run `argv` in-process (proxyshard.cli.main) on a fake system: stdout,
-- stderr, exit status.
local function main(argv)
  local out, err = {}, {}
  local sys = {
    out = function(t) out[#out + 1] = t end,
    err = function(t) err[#err + 1] = t end,
    read_line = function() return nil end,
    getenv = function() return nil end,
    is_tty = function() return false end,
    echo = function() end,
    execute = os.execute,
    open = io.open,
    now = os.time,
  }
  local code = cli.main(argv, sys)
  return table.concat(out), table.concat(err), code
end

-- Whether `program` is on PATH; if not, say so (the check is skipped).
local function have(program, why)
  if shell.sh("command -v " .. q(program) .. " >/dev/null 2>&1") then return true end
  print(("\n[cli_docs_spec] %s is not installed: %s is not checked"):format(program, why))
  return false
end

-- The modules a child lua5.4 loaded running protected_main(argv): stdout,
-- exit status, and the set of the modules it loaded.
local CHILD = [[
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "build/lib/?.so;" .. package.cpath
local before = {}
for name in pairs(package.loaded) do before[name] = true end
local out = {}
local sys = { out = function(t) out[#out + 1] = t end, err = function(t) out[#out + 1] = t end,
  read_line = function() return nil end, getenv = function() return nil end, is_tty = function() return false end,
  echo = function() end, execute = os.execute, open = io.open, now = os.time }
local code = require("proxyshard.cli").protected_main({ ... }, sys)
local loaded = {}
for name in pairs(package.loaded) do
  if not before[name] then loaded[#loaded + 1] = name end
end
io.write(require("cjson").encode({ code = code, out = table.concat(out), loaded = loaded }))
]]
local function child(argv)
  local dir = shell.tmpdir("proxyshard-docs-child")
  shell.write_file(dir .. "/child.lua", CHILD)
  local words = {}
  for i, a in ipairs(argv) do words[i] = q(a) end
  local out, ok = shell.run(("cd %s && lua5.4 %s/child.lua %s 2>&1"):format(q(ROOT), q(dir), table.concat(words, " ")))
  shell.sh("rm -rf " .. q(dir))
  assert.is_true(ok, out)
  local r = cjson.decode(out)
  local set = {}
  for _, name in ipairs(r.loaded) do set[name] = true end
  r.loaded = set
  return r
end

describe("proxyshard --version", function()
  it("prints one line, proxyshard and its version, and exits 0, wherever it is on the command line", function()
    for _, args in ipairs { "--version", "--json --version", "me --version", "--version orders --all",
        "--version no-such-command" } do
      local out, err, code = proxyshard(args)
      assert.are.equal(0, code, args .. ": " .. err)
      assert.are.equal("proxyshard " .. VERSION .. "\n", out, args)
      assert.are.equal("", err, args)
    end
  end)

  it("loads neither libcurl nor the library", function()
    local r = child({ "--version" })
    assert.are.equal(0, r.code)
    assert.are.equal("proxyshard " .. VERSION .. "\n", r.out)
    for _, name in ipairs { "proxyshard.core", "proxyshard", "proxyshard.transport.curl", "proxyshard.cli.run" } do
      assert.is_nil(r.loaded[name], name .. " was loaded")
    end
  end)

  it("is listed in --help, as the parser's own option (a plain run still parses without argparse)", function()
    local out = proxyshard("--help")
    assert.matches("\n   %-%-version +Print the version and exit", out)
    -- M.quick leaves a --version to argparse, which prints it
    assert.is_nil(parser.quick({ "--version", "me" }, commands.find("me")))
    assert.is_table(parser.quick({ "me" }, commands.find("me")))
  end)
end)

describe("proxyshard version", function()
  it("prints the version line, Lua's, and libcurl's with its TLS library", function()
    local core = require "proxyshard.core"
    local out, err, code = proxyshard("version")
    assert.are.equal(0, code, err)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal(3, #lines, out)
    assert.are.equal("proxyshard " .. VERSION, lines[1])
    assert.are.equal("Lua 5.4", lines[2])
    assert.are.equal("libcurl " .. core.curl_version .. " (TLS: " .. (core.curl_ssl_version or "unknown") .. ")",
      lines[3])
  end)

  it("with --json, one document: { version, lua, libcurl, tls }", function()
    local core = require "proxyshard.core"
    local out, err, code = proxyshard("--json version")
    assert.are.equal(0, code, err)
    local doc = cjson.decode(out)
    assert.are.same({ ok = true, command = "version", result = { version = VERSION, lua = "Lua 5.4",
      libcurl = core.curl_version, tls = core.curl_ssl_version or "unknown" } }, doc)
  end)

  it("says so when libcurl's module cannot be loaded, and prints what it knows", function()
    local text = require("proxyshard.cli.version").text(require("proxyshard.cli.version").info({}))
    assert.are.equal("proxyshard " .. VERSION .. "\n" .. _VERSION .. "\nlibcurl unknown (TLS: unknown)", text)
  end)
end)

describe("proxyshard help", function()
  it("alone prints what --help prints", function()
    local out, err, code = main({ "help" })
    assert.are.equal(0, code, err)
    local want = main({ "--help" })
    assert.are.equal(want, out)
    assert.matches("^Usage: proxyshard ", out)
    -- and as a process
    assert.are.equal(want, (proxyshard("help")))
  end)

  it("COMMAND prints what COMMAND --help prints, for every command", function()
    for _, command in ipairs(commands.all()) do
      local out, err, code = main({ "help", command.name })
      assert.are.equal(0, code, command.name .. ": " .. err)
      local want, _, want_code = main({ command.name, "--help" })
      assert.are.equal(0, want_code)
      assert.are.equal(want, out, command.name)
      assert.matches("^Usage: proxyshard " .. command.name:gsub("%-", "%%-") .. " ", out)
    end
    assert.are.equal((proxyshard("orders --help")), (proxyshard("help orders")))
  end)

  it("refuses a name that is no command, naming the closest one (exit 2)", function()
    local out, err, code = proxyshard("help ordrs")
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.are.equal("proxyshard: unknown command 'ordrs' (did you mean 'orders'?)\n"
      .. "Run 'proxyshard --help' for the commands.\n", err)
    local _
    _, err, code = proxyshard("help sub-usr")
    assert.are.equal(2, code)
    assert.matches("unknown command 'sub%-usr' %(did you mean 'sub%-user'%?%)", err)
    -- nothing near: no name to suggest
    _, err, code = proxyshard("help zzzzzzzzzz")
    assert.are.equal(2, code)
    assert.are.equal("proxyshard: unknown command 'zzzzzzzzzz'\nRun 'proxyshard --help' for the commands.\n", err)
    -- with --json, the failure document too
    out, _, code = proxyshard("--json help ordrs")
    assert.are.equal(2, code)
    assert.are.same({ ok = false, command = "help", exit = 2, error = { kind = "invalid_argument",
      message = "unknown command 'ordrs' (did you mean 'orders'?)" } }, cjson.decode(out))
  end)
end)

describe("proxyshard completion", function()
  it("bash: the script lua-argparse writes from the whole parser; bash loads it and completes the commands",
    function()
      if not have("bash", "the bash completion") then return end
      local out, ok = shell.run(("cd %s && bash -c %s 2>&1"):format(q(ROOT),
        q("source <(lua5.4 bin/proxyshard completion bash) && complete -p proxyshard")))
      assert.is_true(ok, out)
      assert.matches("%-F _proxyshard proxyshard\n$", out)
      -- what it completes: commands, options, and command names after `help`
      local script = [[
source <(lua5.4 bin/proxyshard completion bash)
try() { COMP_WORDS=("$@"); COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 )); COMPREPLY=(); _proxyshard; echo "${COMPREPLY[*]}"; }
try proxyshard ord
try proxyshard help ord
try proxyshard --js
try proxyshard purchase --max
try proxyshard top-u
]]
      out, ok = shell.run(("cd %s && bash -c %s 2>&1"):format(q(ROOT), q(script)))
      assert.is_true(ok, out)
      assert.are.equal("order orders\norder orders\n--json\n--max-total\ntop-up\n", out)
    end)

  it("zsh and fish: scripts their shell reads without an error", function()
    for _, s in ipairs { { "zsh", "zsh -n" }, { "fish", "fish --no-execute" } } do
      local out, err, code = proxyshard("completion " .. s[1])
      assert.are.equal(0, code, err)
      assert.matches("proxyshard", out)
      if have(s[1], "its completion script's syntax") then
        local file = os.tmpname()
        shell.write_file(file, out)
        local said, ok = shell.run(s[2] .. " " .. q(file) .. " 2>&1")
        os.remove(file)
        assert.is_true(ok, said)
      end
    end
  end)

  it("lists every command and root option, and after `help` the command names", function()
    local fish = proxyshard("completion fish")
    local zsh = proxyshard("completion zsh")
    for _, command in ipairs(commands.all()) do
      assert.is_truthy(fish:find("-xa '" .. command.name .. "'", 1, true), command.name)
      assert.is_truthy(zsh:find('"' .. command.name .. ":", 1, true), command.name)
    end
    for _, o in ipairs(parser.ROOT_OPTIONS) do
      assert.is_truthy(fish:find("-l " .. o.flag:match("^%-%-(%S+)") .. " ", 1, true), o.flag)
    end
    assert.matches("__fish_proxyshard_using_command help' %-xa 'me products ", fish)
  end)

  it("refuses another shell (exit 2)", function()
    local out, err, code = proxyshard("completion tcsh")
    assert.are.equal(2, code)
    assert.are.equal("", out)
    assert.matches("argument 'shell' must be one of 'bash', 'zsh', 'fish'", err)
  end)
end)

describe("the manual page", function()
  local dir, page_path, page

  setup(function()
    dir = shell.tmpdir("proxyshard-man")
    page_path = dir .. "/proxyshard.1"
    local out, err, code = proxyshard("man > " .. q(page_path))
    assert.are.equal(0, code, err)
    assert.are.equal("", out)
    page = shell.read_file(page_path)
  end)
  teardown(function() shell.sh("rm -rf " .. q(dir)) end)

  it("is what scripts/man.lua writes for the build, which loads neither argparse nor libcurl", function()
    assert.are.equal(page, (shell.run("cd " .. q(ROOT) .. " && env -u SOURCE_DATE_EPOCH lua5.4 scripts/man.lua")))
    assert.are.equal(page, man.page(function() return nil end))
    local r = child({ "man" })
    assert.are.equal(0, r.code)
    assert.are.equal(page, r.out)
    local loaded = shell.run("cd " .. q(ROOT) .. " && lua5.4 -e " .. q([[
      package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
      require("proxyshard.cli.man").page()
      for _, name in ipairs { "argparse", "proxyshard.core", "proxyshard" } do
        if package.loaded[name] then io.write(name, " ") end
      end]]))
    assert.are.equal("", loaded)
  end)

  it("has its sections, every command with its usage and summary, every root option and exit status", function()
    for _, section in ipairs { "NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "GLOBAL OPTIONS", "EXIT STATUS",
        "ENVIRONMENT", "FILES", "SEE ALSO" } do
      assert.is_truthy(page:find("\n.SH " .. section .. "\n", 1, true), section)
    end
    assert.matches('\n%.TH PROXYSHARD 1 "" "proxyshard ' .. VERSION:gsub("%.", "%%.") .. '" "User Commands"\n', page)
    for _, command in ipairs(commands.all()) do
      local usage = man.escape(commands.usage(command))
      local entry = ".TP\n\\fB" .. man.escape(command.name) .. "\\fR\n"
      local at = page:find(entry, 1, true)
      assert.is_truthy(at, command.name)
      local body = page:sub(at + #entry, (page:find("\n.TP\n", at + 1, true) or page:find("\n.SH", at, true)))
      -- the summary, then the usage (the command in bold, what is given in italics)
      assert.is_truthy(body:find(man.escape(command.summary:sub(2)), 1, true), command.name .. ": " .. body)
      assert.is_truthy(body:find("\n.br\n\\fB" .. man.escape("proxyshard " .. command.name) .. "\\fR", 1, true),
        command.name .. ": " .. body)
      assert.is_truthy(body:gsub("\\f[BIR]", ""):find(usage, 1, true), command.name .. ": " .. body)
    end
    for _, o in ipairs(parser.ROOT_OPTIONS) do
      assert.is_truthy(page:find(".TP\n\\fB" .. man.escape(o.flag:match("%S+$")) .. "\\fR", 1, true), o.flag)
    end
    for _, c in ipairs(exit.CODES) do
      assert.is_truthy(page:find((".TP\n\\fB%d\\fR (%s)\n"):format(c[1], man.escape(c[2])), 1, true), c[2])
    end
    assert.is_truthy(page:find("\\fBPROXYSHARD_TOKEN\\fR", 1, true))
    assert.is_truthy(page:find("~/.local/state/proxyshard/", 1, true))
  end)

  it("is dated by SOURCE_DATE_EPOCH when it is set (reproducible builds)", function()
    local dated = man.page(function(name) return name == "SOURCE_DATE_EPOCH" and "1767225600" or nil end)
    assert.matches('\n%.TH PROXYSHARD 1 "2026%-01%-01" ', dated)
  end)

  it("escapes roff: a minus is \\-, a line never starts with a control character", function()
    assert.are.equal("\\-\\-max\\-total", man.escape("--max-total"))
    assert.are.equal("a\n\\&.b\n\\&'c", man.escape("a\n.b\n'c"))
    assert.are.equal("\\&.x \\e \\fBcode\\fR", man.escape(".x \\ `code`"))
    -- nothing outside the macros starts with . or '
    for line in page:gmatch("[^\n]+") do
      if line:find("^[.']") then
        assert.matches("^%.[%a\\][%a\"]?", line, 1, line)
      end
    end
  end)

  it("renders without a warning: man -l, and groff -ww", function()
    if have("man", "rendering with man -l (Debian: man-db)") then
      local out, ok = shell.run(("MANWIDTH=80 man -l %s 2>&1 >/dev/null"):format(q(page_path)))
      assert.is_true(ok, out)
      assert.are.equal("", out)
      local text = shell.run(("MANWIDTH=80 man -l %s 2>/dev/null | col -b"):format(q(page_path)))
      assert.matches("\nCOMMANDS\n", text)
      assert.matches("\n       top%-up Make sure orders have N unused p0f slots", text)
      for line in text:gmatch("[^\n]*") do assert.is_true(utf8.len(line) <= 80, line) end
    end
    if have("groff", "groff -ww (Debian: groff-base)") then
      local out, ok = shell.run(("groff -man -Tutf8 -ww -z %s 2>&1"):format(q(page_path)))
      assert.is_true(ok, out)
      assert.are.equal("", out)
    end
  end)

  it("is made at build time, never kept in git", function()
    local out = shell.run("cd " .. q(ROOT) .. " && git ls-files '*.1' 'man/*' 2>/dev/null")
    assert.are.equal("", out)
  end)

  it("is installed by the rock in its own folder, where MANPATH can name it", function()
    if not have("luarocks", "the rock's manual page") then return end
    local tree = shell.tmpdir("proxyshard-man-rock")
    local env = "env -u SOURCE_DATE_EPOCH LUAROCKS_CONFIG=rockspec/debian-config.lua"
    local out, ok = shell.run(("cd %s && %s luarocks --lua-version=5.4 --tree %s make "
      .. "rockspec/proxyshard-scm-1.rockspec 2>&1"):format(q(ROOT), env, q(tree)))
    shell.sh("cd " .. q(ROOT) .. " && rm -rf build.luarocks")
    local rock_dir
    if ok then
      rock_dir = shell.run(("cd %s && %s luarocks --lua-version=5.4 --tree %s show --rock-dir proxyshard")
        :format(q(ROOT), env, q(tree))):gsub("%s+$", "")
    end
    local installed = rock_dir and shell.read_file(rock_dir .. "/share/man/man1/proxyshard.1")
    local found = have("man", "man -w") and rock_dir and shell.run(("MANPATH=%s: man -w proxyshard 2>&1")
      :format(q(rock_dir .. "/share/man")))
    shell.sh("rm -rf " .. q(tree))
    assert.is_true(ok, out)
    assert.are.equal(page, installed)
    if found then assert.are.equal(rock_dir .. "/share/man/man1/proxyshard.1\n", found) end
  end)
end)
