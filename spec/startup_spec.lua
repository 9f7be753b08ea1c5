-- The command's start-up (issue 18, item 6): a run loads what its command
-- needs and no more, and says exactly what the whole parser would. What a
-- run loads is seen in a fresh interpreter (a child lua5.4, as
-- bin/proxyshard runs it: this process has loaded everything already);
-- the parses are compared with the whole parser's here. How fast it is,
-- is the benchmark's business (scripts/bench.sh), not a test's.
local cjson = require "cjson"
local shell = require "support.shell"
local sandbox_process = require "support.sandbox_process"
local commands = require "proxyshard.cli.commands"
local parser = require "proxyshard.cli.parser"

local q = shell.q

-- Run `argv` through proxyshard.cli's protected_main in a child lua5.4
-- with a fake system (streams kept, the environment `env` only): its
-- exit status, stdout, stderr and the modules it loaded (name -> true).
local CHILD = [[
package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
package.cpath = "build/lib/?.so;" .. package.cpath
local cjson = require "cjson"
local input = cjson.decode(io.read("a"))
local before = {}
for name in pairs(package.loaded) do before[name] = true end
local out, err = {}, {}
local sys = {
  out = function(t) out[#out + 1] = t end,
  err = function(t) err[#err + 1] = t end,
  read_line = function() return nil end,
  getenv = function(name) return input.env[name] end,
  is_tty = function() return false end,
  echo = function() end,
  execute = os.execute,
  open = io.open,
  now = os.time,
}
local code = require("proxyshard.cli").protected_main(input.argv, sys)
local loaded = {}
for name in pairs(package.loaded) do
  if not before[name] then loaded[#loaded + 1] = name end
end
io.write(cjson.encode({ code = code, out = table.concat(out), err = table.concat(err), loaded = loaded }))
]]

local function run(argv, env)
  local dir = shell.tmpdir("proxyshard-startup")
  shell.write_file(dir .. "/child.lua", CHILD)
  shell.write_file(dir .. "/input.json", cjson.encode({ argv = argv, env = env or {} }))
  local out, ok = shell.run(("lua5.4 %s/child.lua <%s/input.json 2>&1"):format(q(dir), q(dir)))
  shell.sh("rm -rf " .. q(dir))
  assert.is_true(ok, out)
  local r = cjson.decode(out)
  local set = {}
  for _, name in ipairs(r.loaded) do set[name] = true end
  r.loaded = set
  return r
end

-- The modules `loaded` has of those in `names` (patterns).
local function any_of(loaded, names)
  local found = {}
  for name in pairs(loaded) do
    for _, pattern in ipairs(names) do
      if name:find(pattern) then found[#found + 1] = name end
    end
  end
  table.sort(found)
  return found
end

-- Neither libcurl (proxyshard.core) nor the library's client and transport.
local NO_LIBRARY = { "^proxyshard$", "^proxyshard%.core$", "^proxyshard%.transport", "^proxyshard%.handles",
  "^proxyshard%.engine%.call$", "^proxyshard%.flows%." }
-- What only other commands need: the hand-written commands, the sandbox,
-- the REPL, help(), the spending flows, the journal and the lock.
local NOT_FOR_A_READ = { "^proxyshard%.sandbox", "^proxyshard%.cli%.repl", "^proxyshard%.cli%.topup$",
  "^proxyshard%.cli%.pending$", "^proxyshard%.cli%.proxies$", "^proxyshard%.cli%.orders$",
  "^proxyshard%.cli%.renew$", "^proxyshard%.cli%.batch$", "^proxyshard%.cli%.order_set$",
  "^proxyshard%.cli%.progress$", "^proxyshard%.help$", "^proxyshard%.flows%.", "^proxyshard%.jobs%.lock$",
  "^proxyshard%.jobs%.journal$", "^proxyshard%.jobs%.exclusive$", "^proxyshard%.model%.proxy",
  "^proxyshard%.cli%.help_command$", "^proxyshard%.cli%.version$", "^proxyshard%.cli%.completion$",
  "^proxyshard%.cli%.man$" }

-- What the whole parser (every command in it) says of `argv`, as main
-- prints it: stdout, stderr, status.
local function whole_parser_says(argv)
  local ok, result = parser.parse_all(argv)
  if ok == "help" then return result .. "\n", "", 0 end
  assert.is_false(ok, "not an error: " .. table.concat(argv, " "))
  local command
  for _, a in ipairs(argv) do
    if commands.find(a) then command = a break end
  end
  return "", ("proxyshard: %s\nRun 'proxyshard %s--help' for the usage.\n"):format(result,
    command and (command .. " ") or ""), 2
end

describe("the command's start-up", function()
  it("--help loads neither libcurl nor the library, nor the commands' modules; its text is the whole parser's",
    function()
      for _, argv in ipairs { { "--help" }, { "-h" }, { "--json", "--help" } } do
        local r = run(argv)
        assert.are.same({}, any_of(r.loaded, NO_LIBRARY))
        assert.are.same({}, any_of(r.loaded, NOT_FOR_A_READ))
        local out, err, code = whole_parser_says(argv)
        assert.are.equal(code, r.code)
        assert.are.equal(out, r.out)
        assert.are.equal(err, r.err)
      end
    end)

  it("a usage error (an unknown command, an argument too many) loads neither libcurl nor the library",
    function()
      for _, argv in ipairs { { "no-such-command" }, { "me", "extra" }, { "order" },
        { "--timeout", "soon", "me" }, {} } do
        local r = run(argv)
        assert.are.same({}, any_of(r.loaded, NO_LIBRARY), table.concat(argv, " "))
        local out, err, code = whole_parser_says(argv)
        assert.are.equal(code, r.code)
        assert.are.equal(out, r.out)
        assert.are.equal(err, r.err)
      end
    end)

  describe("a read", function()
    local sb

    setup(function() sb = sandbox_process.start() end)
    teardown(function() if sb then sb:stop() end end)

    it("loads the library and libcurl, but not argparse, the other commands, the sandbox or the REPL", function()
      local r = run({ "--sandbox", "me" }, { PROXYSHARD_SANDBOX_URL = sb.url })
      assert.are.equal(0, r.code, r.err)
      assert.matches("^dev@sandbox%.proxyshard%.test: ", r.out)
      assert.is_true(r.loaded["proxyshard.core"]) -- and the signals trapped (protected_main)
      assert.is_true(r.loaded["proxyshard.transport.curl"])
      assert.is_nil(r.loaded.argparse) -- a plain command line is parsed without it (M.quick)
      assert.are.same({}, any_of(r.loaded, NOT_FOR_A_READ))
    end)

    it("with --json too, and one made from a row with an argument", function()
      local r = run({ "--json", "order", "12345" }, { PROXYSHARD_TOKEN = "sandbox-token",
        PROXYSHARD_BASE_URL = sb.url })
      assert.are.equal(0, r.code, r.err)
      assert.are.equal(12345, cjson.decode(r.out).result.order_id)
      assert.are.same({}, any_of(r.loaded, NOT_FOR_A_READ))
    end)

    it("of a hand-written command loads that command's module only", function()
      local r = run({ "proxies", "--all-active" }, { PROXYSHARD_TOKEN = "sandbox-token", PROXYSHARD_BASE_URL = sb.url })
      assert.are.equal(0, r.code, r.err)
      assert.is_true(r.loaded["proxyshard.cli.proxies"])
      assert.are.same({}, any_of(r.loaded, { "^proxyshard%.cli%.topup$", "^proxyshard%.cli%.renew$",
        "^proxyshard%.cli%.repl", "^proxyshard%.cli%.pending$", "^proxyshard%.sandbox" }))
    end)
  end)
end)

describe("the command line, parsed lazily", function()
  -- Command lines for `command`: plain ones, and the odd ones argparse is
  -- left to (help, --, repeats, a value missing or starting with "-"...).
  local function lines_for(command)
    local base = { command.name }
    for _, p in ipairs(command.positionals or {}) do
      base[#base + 1] = p.many and "203.0.113.7=true" or "12"
    end
    local required, optional = {}, {}
    for _, o in ipairs(command.options or {}) do
      if o.required then required[#required + 1] = o else optional[#optional + 1] = o end
    end
    for _, o in ipairs(required) do
      base[#base + 1] = o.flag
      base[#base + 1] = "1"
    end
    local function with(before, after)
      local argv = {}
      for _, a in ipairs(before or {}) do argv[#argv + 1] = a end
      for _, a in ipairs(base) do argv[#argv + 1] = a end
      for _, a in ipairs(after or {}) do argv[#argv + 1] = a end
      return argv
    end
    local plain = { with(), with({ "--json" }), with(nil, { "--sandbox" }), with(nil, { "--token=abc" }),
      with({ "--timeout", "5", "--base-url", "http://127.0.0.1:1" }), with({ "--lock-wait=2" }, { "--json" }) }
    local odd = { with(nil, { "--help" }), with({ "-h" }), with(nil, { "--" }), with({ "--json" }, { "--json" }),
      with(nil, { "extra" }), with({ "--timeout", "soon" }), with({ "--token" }), with(nil, { "--token", "-x" }),
      with(nil, { "--json=1" }), with(nil, { "--no-such-option" }), with({ "--token", "" }), with(nil, { "-y" }),
      with(nil, { "--dry-run" }), with(nil, { "--all" }), with(nil, { "--yes" }), with(nil, { "--json", "x=y" }),
      with(nil, { "x=y", "-y", "z" }) }
    if #base > 1 then
      local short = {}
      for i = 1, #base - 1 do short[i] = base[i] end
      odd[#odd + 1] = short
    end
    for _, o in ipairs(optional) do
      if o.flag_only then
        plain[#plain + 1] = with(nil, { (o.flag:match("%-%-%S+")) })
      else
        plain[#plain + 1] = with(nil, { o.flag, "7" })
        plain[#plain + 1] = with(nil, { o.flag .. "=7" })
        odd[#odd + 1] = with(nil, { o.flag })
        odd[#odd + 1] = with(nil, { o.flag, "7", o.flag, "8" })
      end
    end
    return plain, odd
  end

  it("says what the whole parser says, for every command, plain and odd command lines alike", function()
    for _, command in ipairs(commands.all()) do
      local plain, odd = lines_for(command)
      for _, list in ipairs { plain, odd } do
        for _, argv in ipairs(list) do
          local ok, result = parser.parse(argv)
          local whole_ok, whole = parser.parse_all(argv)
          assert.are.equal(whole_ok, ok, table.concat(argv, " "))
          assert.are.same(whole, result, table.concat(argv, " "))
        end
      end
    end
  end)

  it("parses a plain command line of a row's command without argparse, exactly as argparse does", function()
    local quick = 0
    for _, command in ipairs(commands.all()) do
      local plain, odd = lines_for(command)
      for _, argv in ipairs(plain) do
        local fast = parser.quick(argv, command)
        if not command.configure then
          assert.is_table(fast, table.concat(argv, " "))
          quick = quick + 1
        end
        if fast then
          local ok, whole = parser.parse_all(argv)
          assert.is_true(ok, table.concat(argv, " "))
          assert.are.same(whole, fast, table.concat(argv, " "))
        end
      end
      for _, argv in ipairs(odd) do
        local fast = parser.quick(argv, command)
        if fast then
          local ok, whole = parser.parse_all(argv)
          assert.is_true(ok, table.concat(argv, " "))
          assert.are.same(whole, fast, table.concat(argv, " "))
        end
      end
    end
    assert.is_true(quick > 100, quick)
  end)

  it("has every command's --help exactly as the whole parser's, and the root's", function()
    for _, command in ipairs(commands.all()) do
      local argv = { command.name, "--help" }
      assert.are.same({ parser.parse_all(argv) }, { parser.parse(argv) })
    end
    local ok, text = parser.parse({ "--help" })
    assert.are.equal("help", ok)
    assert.are.equal(select(2, parser.parse_all({ "--help" })), text)
  end)

  it("finds each command by name as the whole list has it, and lists them the same", function()
    -- a fresh proxyshard.cli.commands, whose whole list is not made yet
    package.loaded["proxyshard.cli.commands"] = nil
    local fresh = require "proxyshard.cli.commands"
    package.loaded["proxyshard.cli.commands"] = commands
    local index = fresh.index()
    local found = {}
    for _, entry in ipairs(index) do found[entry.name] = fresh.lookup(entry.name) end
    assert.is_nil(fresh.lookup("no-such-command"))
    local all = commands.all()
    assert.are.equal(#all, #index)
    for i, command in ipairs(all) do
      assert.are.equal(command.name, index[i].name)
      assert.are.equal(command.summary, index[i].summary)
      assert.are.equal(command.name, found[command.name].name)
      assert.are.equal(command.row, found[command.name].row)
      assert.are.same(commands.usage(command), fresh.usage(found[command.name]))
    end
  end)

  it("refuses an index of the hand-written commands that is not theirs", function()
    local module = commands.HAND_WRITTEN[1]
    local known = commands.HAND_WRITTEN_INDEX[module]
    local summary = known.summary
    known.summary = "another summary"
    local ok, err = pcall(commands.make, require("proxyshard.operations").rows)
    known.summary = summary
    assert.is_false(ok)
    assert.matches("HAND_WRITTEN_INDEX says \"another summary\"", err, 1, true)
  end)
end)
