-- proxyshard.core's state files (core.lock, core.append, core.replace),
-- core.sha256 and the signal trap (core.trap, core.trapped, core.untrap).
-- Whatever needs a second process, or a signal, runs in a child interpreter
-- (the one this spec runs under, with the same package.cpath, so that the
-- LuaJIT and ASan runs test their own build); the spec process itself never
-- installs a signal handler. No assertion depends on the machine's speed:
-- processes are ordered through files and output lines, and the only times
-- asserted are lower bounds the code guarantees and generous upper bounds.
local ok, core = pcall(require, "proxyshard.core")
if not ok then
  package.cpath = "build/lib/?.so;" .. package.cpath
  core = require "proxyshard.core"
end
local shell = require "support.shell"

-- the interpreter this spec runs under, for the children
local LUA = shell.LUA
local SIGINT, SIGTERM = 2, 15

-- The start of every child script: this spec's module, and the child's own
-- pid (/proc/self/stat read by the interpreter itself, not by a shell).
local PRELUDE = ([[
package.cpath = %q
local core = require "proxyshard.core"
local function own_pid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = f:read("*l"):match("^(%%d+)")
  f:close()
  return pid
end
local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end
-- Waits (for at most a minute: a lost spec must not leave processes behind)
-- until the file exists.
local function wait_file(path)
  for _ = 1, 3000 do
    if exists(path) then return true end
    core.sleep(0.02)
  end
  return false
end
]]):format(package.cpath)

-- The shell command running `code` in a child interpreter; the values in
-- `...` are its varargs (strings), as `local a, b = ...` reads them.
local function child(code, ...)
  local args = {}
  for i = 1, select("#", ...) do args[i] = ("%q"):format(tostring(select(i, ...))) end
  local script = PRELUDE .. "\nlocal function main(...)\n" .. code .. "\nend\nmain(" ..
    table.concat(args, ", ") .. ")\n"
  -- under the ASan phase the child's leak check stops the world with
  -- ptrace, which a chroot may refuse: memory errors are still reported
  local asan = ((os.getenv("ASAN_OPTIONS") or "") .. ":detect_leaks=0"):gsub("^:", "")
  return "ASAN_OPTIONS=" .. shell.q(asan) .. " " .. LUA .. " -e " .. shell.q(script)
end

-- Runs `code` in a child to its end: its output (stderr included), true
-- when it exited with status 0.
local function run_child(code, ...)
  local out, exited_ok = shell.run(child(code, ...) .. " 2>&1")
  return out, exited_ok == true
end

-- Starts `code` in a child in the background; returns { pid, pipe, first }
-- once the child printed its first line (first).
local function spawn(code, ...)
  local pipe = assert(io.popen(child(code, ...) .. " & echo pid=$!", "r"))
  local p = { pipe = pipe }
  -- the shell's "pid=" line and the child's first line come in either order
  while not (p.pid and p.first) do
    local line = assert(pipe:read("*l"), "the child ended early")
    local pid = line:match("^pid=(%d+)$")
    if pid and not p.pid then
      p.pid = tonumber(pid)
    else
      p.first = line
    end
  end
  return p
end

-- Closes a spawned child's pipe, once the child ended.
local function done_with(p)
  p.pipe:close()
  p.pipe = nil
end

-- A test that failed half-way: ends its spawned child and closes its pipe.
local function reap(p)
  if p and p.pipe then
    shell.sh("kill -KILL " .. p.pid .. " 2>/dev/null")
    p.pipe:close()
    p.pipe = nil
  end
end

local function touch(path)
  shell.write_file(path, "")
end

local function mode(path)
  return (shell.run("stat -c %a " .. shell.q(path)):gsub("%s+$", ""))
end

local function exists(path)
  local f = io.open(path)
  if f then f:close() end
  return f ~= nil
end

local function lines(text)
  local t = {}
  for line in text:gmatch("([^\n]*)\n") do t[#t + 1] = line end
  return t
end

-- Holds the lock on `path` and writes its pid there, prints "locked"; once
-- `dir`/release exists, waits 0.3 s (the waiter is waiting by then, most
-- likely), prints "releasing" and closes the lock; then stays until
-- `dir`/exit exists.
local HOLDER = [[
  local path, dir = ...
  local lock = assert(core.lock(path, 0))
  assert(lock:write("pid " .. own_pid() .. "\n"))
  print("locked")
  io.stdout:flush()
  if wait_file(dir .. "/release") then
    core.sleep(0.3)
    print("releasing")
    io.stdout:flush()
    lock:close()
  end
  wait_file(dir .. "/exit")
]]

describe("proxyshard.core state", function()
  local tmp, n = nil, 0

  lazy_setup(function()
    tmp = shell.tmpdir("proxyshard-state")
  end)

  lazy_teardown(function()
    if tmp then shell.sh("rm -rf " .. shell.q(tmp)) end
  end)

  -- A fresh folder for each test.
  local function fresh()
    n = n + 1
    local dir = tmp .. "/t" .. n
    assert(shell.sh("mkdir " .. shell.q(dir)))
    return dir
  end

  describe("core.lock", function()
    -- a child holding the lock of a fresh folder's file, and this process
    -- seeing it busy: the holder, the folder, the path
    local function held_elsewhere()
      local dir = fresh()
      local path = dir .. "/state.lock"
      local h = spawn(HOLDER, path, dir)
      finally(function() reap(h) end)
      assert.equal("locked", h.first)
      local lock, err = core.lock(path, 0)
      assert.is_nil(lock)
      assert.equal("busy", err)
      return h, dir, path
    end

    it("is busy for another process, and free once the holder exits, even killed", function()
      local h, _, path = held_elsewhere()
      local lock, err
      -- what the holder wrote, for the caller to describe it
      assert.equal("pid " .. h.pid .. "\n", shell.read_file(path))

      -- no close, no exit handler: the kernel drops the lock with the process
      assert.is_true(shell.sh("kill -KILL " .. h.pid))
      done_with(h)
      lock, err = core.lock(path, 60)
      assert.is_truthy(lock, err)
      lock:close()
    end)

    it("is taken by a waiter once the holder closes it within wait_seconds", function()
      local h, dir, path = held_elsewhere()
      local lock, err
      touch(dir .. "/release")
      lock, err = core.lock(path, 60)
      assert.is_truthy(lock, err)
      -- it came from the holder's close: the holder said so first, and runs on
      assert.equal("releasing", h.pipe:read("*l"))
      assert.is_true(shell.sh("kill -0 " .. h.pid))
      assert.equal("proxyshard.core.lock (held)", tostring(lock))
      lock:close()

      touch(dir .. "/exit")
      assert.equal("", h.pipe:read("*a"))
      done_with(h)
    end)

    it("is busy for a second lock in the same process (flock is per open file)", function()
      local path = fresh() .. "/state.lock"
      local first = assert(core.lock(path, 0))
      local second, err = core.lock(path, 0)
      assert.is_nil(second)
      assert.equal("busy", err)
      first:close()
      second = assert(core.lock(path, 0))
      second:close()
    end)

    it("waits wait_seconds before it says busy", function()
      local path = fresh() .. "/state.lock"
      local held = assert(core.lock(path, 0))
      local t = core.monotonic()
      local lock, err = core.lock(path, 0.2)
      local waited = core.monotonic() - t
      assert.is_nil(lock)
      assert.equal("busy", err)
      assert.is_true(waited >= 0.2 - 1e-3, "waited only " .. waited .. " s")
      assert.is_true(waited < 30, "waited " .. waited .. " s")
      held:close()
    end)

    it("is released by the garbage collector, and by <close> on Lua 5.4", function()
      local path = fresh() .. "/state.lock"
      local lock = assert(core.lock(path, 0))
      assert.is_truthy(lock)
      lock = nil -- luacheck: ignore 311
      collectgarbage()
      collectgarbage()
      lock = assert(core.lock(path, 0))
      lock:close()

      if _VERSION == "Lua 5.4" then
        local scoped = assert(load([[
          local core, path = ...
          do
            local lock <close> = assert(core.lock(path, 0))
            assert(core.lock(path, 0) == nil)
          end
          local again = assert(core.lock(path, 0))
          again:close()
          return true
        ]]))
        assert.is_true(scoped(core, path))
      end
    end)

    it("writes the holder's description over the file's content; close is idempotent", function()
      local path = fresh() .. "/state.lock"
      shell.write_file(path, "a much longer stale description\nfrom an earlier holder\n")
      local lock = assert(core.lock(path, 0))
      assert.is_true(lock:write("pid 1\nhost a\n"))
      assert.equal("pid 1\nhost a\n", shell.read_file(path))
      assert.is_true(lock:write("pid 2\n"))
      assert.equal("pid 2\n", shell.read_file(path))
      assert.is_true(lock:write(""))
      assert.equal("", shell.read_file(path))

      lock:close()
      lock:close()
      assert.equal("proxyshard.core.lock (closed)", tostring(lock))
      local done, err = lock:write("pid 3\n")
      assert.is_nil(done)
      assert.equal("closed", err)
      -- the file stays (removing it would race with the next holder)
      assert.equal("", shell.read_file(path))
    end)

    it("makes the file with mode 0600", function()
      local path = fresh() .. "/new.lock"
      local lock = assert(core.lock(path, 0))
      assert.equal("600", mode(path))
      lock:close()
    end)

    it("says why, naming the path, when the file cannot be opened", function()
      local path = fresh() .. "/missing/state.lock"
      local lock, err = core.lock(path, 1)
      assert.is_nil(lock)
      assert.equal("cannot open lock file " .. path .. ": No such file or directory", err)
    end)

    it("raises on a wrong argument", function()
      local path = fresh() .. "/state.lock"
      assert.has_error(function() core.lock(path, -1) end)
      assert.has_error(function() core.lock(path, "soon") end)
      assert.has_error(function() core.lock("") end)
      assert.has_error(function() core.lock(path .. "\0x") end)
      assert.has_error(function() core.lock({}) end)
      local lock = assert(core.lock(path))
      assert.has_error(function() lock:write() end)
      assert.has_error(function() lock.write({}, "x") end)
      lock:close()
    end)
  end)

  describe("core.append", function()
    it("appends exactly the lines given, to a file made with mode 0600", function()
      local path = fresh() .. "/journal"
      assert.is_true(core.append(path, "one\n"))
      assert.is_true(core.append(path, "two\n"))
      assert.is_true(core.append(path, ""))
      assert.is_true(core.append(path, "three\n"))
      assert.equal("one\ntwo\nthree\n", shell.read_file(path))
      assert.equal("600", mode(path))
    end)

    it("interleaves whole lines when two processes append at once", function()
      local path = fresh() .. "/journal"
      local writer = [[
        local path, tag = ...
        for i = 1, 200 do
          assert(core.append(path, ("%s %03d %s\n"):format(tag, i, (tag):rep(100))))
        end
      ]]
      assert.is_true(shell.sh(("%s & %s & wait"):format(child(writer, path, "a"), child(writer, path, "b"))))
      local seen = { a = 0, b = 0 }
      local text = shell.read_file(path)
      assert.equal("\n", text:sub(-1))
      for _, line in ipairs(lines(text)) do
        local tag, i, rest = line:match("^(%a) (%d%d%d) (%a+)$")
        assert.is_truthy(tag, "a torn line: " .. line)
        assert.equal(tag:rep(100), rest)
        seen[tag] = seen[tag] + 1
        -- each writer's lines stay in its order
        assert.equal(seen[tag], tonumber(i))
      end
      assert.same({ a = 200, b = 200 }, seen)
    end)

    it("says why, naming the path, when it cannot", function()
      local path = fresh() .. "/missing/journal"
      local done, err = core.append(path, "line\n")
      assert.is_nil(done)
      assert.equal("cannot open " .. path .. ": No such file or directory", err)
      assert.has_error(function() core.append(path) end)
      assert.has_error(function() core.append("", "x") end)
    end)
  end)

  describe("core.replace", function()
    it("writes the file, replaces it whole, leaves no .tmp, mode 0600", function()
      local path = fresh() .. "/state.json"
      assert.is_true(core.replace(path, "first, and longer than the second\n"))
      assert.equal("first, and longer than the second\n", shell.read_file(path))
      assert.is_true(core.replace(path, "second\n"))
      assert.equal("second\n", shell.read_file(path))
      assert.is_true(core.replace(path, ""))
      assert.equal("", shell.read_file(path))
      assert.is_false(exists(path .. ".tmp"))
      assert.equal("600", mode(path))
    end)

    it("shows a concurrent reader the old content or the new, never a mix", function()
      local dir = fresh()
      local path = dir .. "/state"
      local A, B = ("a"):rep(65536), ("b"):rep(65536)
      assert.is_true(core.replace(path, A))
      -- says "reading", then reads until told to stop (at least once
      -- after that) and counts the reads that were neither A nor B
      local reader = [[
        local path, stop = ...
        local A, B = ("a"):rep(65536), ("b"):rep(65536)
        local reads, mixed, stopping = 0, 0, false
        print("reading")
        io.stdout:flush()
        repeat
          stopping = exists(stop)
          local f = assert(io.open(path, "rb"))
          local s = f:read("*a")
          f:close()
          reads = reads + 1
          if s ~= A and s ~= B then mixed = mixed + 1 end
        until stopping
        print(("reads=%d mixed=%d"):format(reads, mixed))
      ]]
      local r = spawn(reader, path, dir .. "/stop")
      finally(function() reap(r) end)
      assert.equal("reading", r.first)
      for i = 1, 40 do
        assert.is_true(core.replace(path, i % 2 == 0 and A or B))
      end
      touch(dir .. "/stop")
      local reads, mixed = r.pipe:read("*a"):match("^reads=(%d+) mixed=(%d+)\n$")
      done_with(r)
      assert.is_truthy(reads)
      assert.is_true(tonumber(reads) >= 1)
      assert.equal(0, tonumber(mixed))
      assert.equal(A, shell.read_file(path))
      assert.is_false(exists(path .. ".tmp"))
    end)

    it("says why, and leaves no .tmp, when it cannot", function()
      local dir = fresh()
      local done, err = core.replace(dir .. "/missing/state", "x")
      assert.is_nil(done)
      assert.equal("cannot open " .. dir .. "/missing/state.tmp: No such file or directory", err)

      -- a directory in the way: the rename fails, the .tmp goes
      local path = dir .. "/taken"
      assert.is_true(shell.sh("mkdir " .. shell.q(path)))
      done, err = core.replace(path, "x")
      assert.is_nil(done)
      assert.equal("cannot rename over " .. path .. ": Is a directory", err)
      assert.is_false(exists(path .. ".tmp"))
      assert.has_error(function() core.replace(path) end)
      assert.has_error(function() core.replace(nil, "x") end)
    end)
  end)

  describe("core.sha256", function()
    it("gives the FIPS 180-4 example digests", function()
      assert.equal("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", core.sha256(""))
      assert.equal("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", core.sha256("abc"))
      assert.equal("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
        core.sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"))
      assert.equal("cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
        core.sha256("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn" ..
          "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"))
      assert.equal("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
        core.sha256(("a"):rep(1000000)))
    end)

    it("agrees with sha256sum around the block and padding boundaries, on any byte", function()
      local dir = fresh()
      for _, len in ipairs { 1, 54, 55, 56, 57, 63, 64, 65, 111, 119, 120, 127, 128, 129, 1000 } do
        local bytes = {}
        for i = 1, len do bytes[i] = string.char((i * 37 + len) % 256) end
        local text = table.concat(bytes)
        local path = dir .. "/" .. len
        shell.write_file(path, text)
        local want = shell.run("sha256sum " .. shell.q(path)):match("^(%x+)")
        assert.equal(want, core.sha256(text), "length " .. len)
      end
    end)

    it("raises on a value that is not a string", function()
      assert.has_error(function() core.sha256() end)
      assert.has_error(function() core.sha256({}) end)
    end)
  end)

  describe("signals", function()
    it("core.trap records SIGINT instead of dying; core.untrap clears it", function()
      local out, exited_ok = run_child([[
        print("before=" .. tostring(core.trapped()))
        assert(core.trap() == true)
        assert(core.trap() == true) -- a second trap changes nothing
        -- io.popen, not os.execute: system() ignores SIGINT while it waits
        local p = io.popen("kill -INT " .. own_pid())
        p:read("*a")
        p:close()
        for _ = 1, 500 do
          if core.trapped() then break end
          core.sleep(0.01)
        end
        print("trapped=" .. tostring(core.trapped()))
        assert(core.untrap() == true)
        print("after=" .. tostring(core.trapped()))
        -- nothing recorded: core.sleep sleeps again
        local t = core.monotonic()
        core.sleep(0.05)
        print("slept=" .. tostring(core.monotonic() - t >= 0.05 - 1e-3))
      ]])
      assert.equal(("before=nil\ntrapped=%d\nafter=nil\nslept=true\n"):format(SIGINT), out)
      assert.is_true(exited_ok)
    end)

    it("core.untrap puts the previous handler back (SIGTERM's default ends the process)", function()
      local out, exited_ok = run_child([[
        core.trap()
        core.untrap()
        local p = io.popen("kill -TERM " .. own_pid())
        p:read("*a")
        p:close()
        core.sleep(5)
        print("survived")
      ]])
      assert.is_false(exited_ok)
      assert.is_nil(out:find("survived", 1, true))
    end)

    it("a trapped SIGTERM ends core.sleep early", function()
      local out, exited_ok = run_child([[
        core.trap()
        os.execute(("(sleep 0.2; kill -TERM %s) >/dev/null 2>&1 &"):format(own_pid()))
        local t = core.monotonic()
        core.sleep(30)
        print(("trapped=%s slept=%.3f"):format(tostring(core.trapped()), core.monotonic() - t))
      ]])
      assert.is_true(exited_ok, out)
      local trapped, slept = out:match("^trapped=(%d+) slept=([%d.]+)\n$")
      assert.equal(SIGTERM, tonumber(trapped), out)
      assert.is_true(tonumber(slept) < 10, out)
    end)

    -- A server that never answers: a listening socket nobody accepts on (the
    -- kernel completes the connection, the request waits in its buffer).
    -- Afterwards the connection is taken from the backlog to see whether the
    -- request reached it, which request_sent must agree with.
    local SILENT = [[
      local socket = require "socket"
      local function silent()
        local srv = assert(socket.bind("127.0.0.1", 0))
        local _, port = srv:getsockname()
        return srv, "http://127.0.0.1:" .. port .. "/never"
      end
      local function received(srv)
        srv:settimeout(1)
        local c = srv:accept()
        srv:close()
        if not c then return false end
        c:settimeout(5)
        local data, _, partial = c:receive("*a")
        c:close()
        return #(data or partial or "") > 0
      end
    ]]

    it("a trapped SIGINT stops session:perform with kind interrupted", function()
      local out, exited_ok = run_child(SILENT .. [[
        core.trap()
        local s = core.session {}
        local srv, url = silent()
        os.execute(("(sleep 0.2; kill -INT %s) >/dev/null 2>&1 &"):format(own_pid()))
        local t = core.monotonic()
        local res, terr = s:perform { method = "POST", url = url, body = "{}", timeout_ms = 60000 }
        print(("res=%s kind=%s sent=%s got=%s took=%.3f"):format(tostring(res), terr.kind,
          tostring(terr.request_sent), tostring(received(srv)), core.monotonic() - t))
        -- still recorded: the next request stops at once
        srv, url = silent()
        res, terr = s:perform { method = "GET", url = url, timeout_ms = 60000 }
        print(("res=%s kind=%s sent=%s got=%s msg=%s"):format(tostring(res), terr.kind,
          tostring(terr.request_sent), tostring(received(srv)), terr.message))
        s:close()
      ]])
      assert.is_true(exited_ok, out)
      local first, second = out:match("^([^\n]*)\n([^\n]*)\n$")
      assert.is_truthy(first, out)
      local kind, sent, got, took = first:match("^res=nil kind=(%a+) sent=(%a+) got=(%a+) took=([%d.]+)$")
      assert.equal("interrupted", kind, out)
      assert.equal(got, sent, out)
      assert.is_true(tonumber(took) < 10, out)
      kind, sent, got = second:match("^res=nil kind=(%a+) sent=(%a+) got=(%a+) msg=interrupted by SIGINT$")
      assert.equal("interrupted", kind, out)
      assert.equal(got, sent, out)
    end)

    it("a trapped SIGINT stops a multi's transfers, queued ones too, and its wait returns at once", function()
      local out, exited_ok = run_child(SILENT .. [[
        core.trap()
        -- one connection: the second and third transfers wait for it
        local m = core.multi { max_host_connections = 1 }
        local _, url = silent()
        for _ = 1, 3 do
          assert(m:start { method = "GET", url = url, timeout_ms = 60000 })
        end
        os.execute(("(sleep 0.2; kill -INT %s) >/dev/null 2>&1 &"):format(own_pid()))
        local t = core.monotonic()
        local kinds = {}
        while m:running() > 0 and core.monotonic() - t < 30 do
          for _, d in ipairs(m:wait(60)) do kinds[#kinds + 1] = d.terr and d.terr.kind or "res" end
        end
        print(("kinds=%s running=%d took=%.3f"):format(table.concat(kinds, ","), m:running(),
          core.monotonic() - t))
        -- nothing running, a signal recorded: no wait either
        t = core.monotonic()
        assert(#m:wait(30) == 0)
        print(("idle took=%.3f"):format(core.monotonic() - t))
        m:close()
      ]])
      assert.is_true(exited_ok, out)
      local took, idle = out:match("^kinds=interrupted,interrupted,interrupted running=0 took=([%d.]+)\n" ..
        "idle took=([%d.]+)\n$")
      assert.is_truthy(took, out)
      assert.is_true(tonumber(took) < 10, out)
      assert.is_true(tonumber(idle) < 10, out)
    end)

    it("a trapped signal stops a wait for a busy lock", function()
      local dir = fresh()
      local path = dir .. "/state.lock"
      local held = assert(core.lock(path, 0))
      local out, exited_ok = run_child([[
        local path = ...
        core.trap()
        os.execute(("(sleep 0.2; kill -TERM %s) >/dev/null 2>&1 &"):format(own_pid()))
        local t = core.monotonic()
        local lock, err = core.lock(path, 30)
        print(("lock=%s err=%s took=%.3f"):format(tostring(lock), err, core.monotonic() - t))
      ]], path)
      held:close()
      assert.is_true(exited_ok, out)
      local took = out:match("^lock=nil err=interrupted took=([%d.]+)\n$")
      assert.is_truthy(took, out)
      assert.is_true(tonumber(took) < 10, out)
    end)
  end)
end)
