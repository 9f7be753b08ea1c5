-- The command's config file (proxyshard.cli.config): profiles of
-- settings, read strictly (a typo names its line and the closest key).
local config = require "proxyshard.cli.config"

local function sys_with(files, env)
  return {
    getenv = function(k) return (env or {})[k] end,
    open = function(path)
      local text = files[path]
      if not text then return nil, path .. ": No such file or directory" end
      return { read = function() return text end, close = function() end }
    end,
  }
end

describe("the config file", function()
  local TEXT = table.concat({
    "# the live account",
    "[default]",
    "token_file = ~/.config/proxyshard/live-token",
    "timeout = 20",
    "",
    "[sandbox]",
    "  base_url = http://127.0.0.1:8089  ",
    "allow_insecure = false",
    "; another comment",
    "[work]",
    "proxy = socks5h://127.0.0.1:1080",
    "lock_wait = 5",
  }, "\n")

  it("is found by PROXYSHARD_CONFIG, XDG_CONFIG_HOME or HOME", function()
    assert.are.equal("/x/c", config.path(function(k) return ({ PROXYSHARD_CONFIG = "/x/c" })[k] end))
    assert.are.equal("/xdg/proxyshard/config", config.path(function(k) return ({ XDG_CONFIG_HOME = "/xdg",
      HOME = "/h" })[k] end))
    assert.are.equal("/h/.config/proxyshard/config", config.path(function(k) return ({ HOME = "/h" })[k] end))
    assert.is_nil(config.path(function() return nil end))
  end)

  it("gives the profile asked for, else default; paths from ~ and numbers read", function()
    local sys = sys_with({ ["/h/.config/proxyshard/config"] = TEXT }, { HOME = "/h" })
    local p, name = config.load(sys, nil)
    assert.are.equal("default", name)
    assert.are.same({ token_file = "/h/.config/proxyshard/live-token", timeout = 20 }, p)
    p, name = config.load(sys, "sandbox")
    assert.are.equal("sandbox", name)
    assert.are.same({ base_url = "http://127.0.0.1:8089", allow_insecure = false }, p)
    assert.are.same({ proxy = "socks5h://127.0.0.1:1080", lock_wait = 5 }, (config.load(sys, "work")))
  end)

  it("without a file is empty for default, and an error for a named profile", function()
    local sys = sys_with({}, { HOME = "/h" })
    assert.are.same({}, (config.load(sys, nil)))
    local p, err = config.load(sys, "work")
    assert.is_nil(p)
    assert.are.equal("--profile", err.argument)
    assert.matches("there is no config file %(/h/%.config/proxyshard/config%)", err.message)
  end)

  it("refuses an unknown profile, key or value, naming the line and the closest name", function()
    local sys = sys_with({ ["/c"] = TEXT }, { PROXYSHARD_CONFIG = "/c" })
    local _, err = config.load(sys, "sandbx")
    assert.matches('sandbx is not a profile of /c %(did you mean "sandbox"%?%)', err.message)
    for text, pattern in pairs {
      ["[a]\ntimeot = 5"] = '/c:2: unknown key "timeot" %(did you mean "timeout"%?%)',
      ["[a]\ntimeout = soon"] = "/c:2: timeout must be a number of seconds, got soon",
      ["[a]\nallow_insecure = maybe"] = "/c:2: allow_insecure must be true or false",
      ["timeout = 5"] = "/c:1: timeout comes before any %[profile%]",
      ["[a]\njust words"] = '/c:2: expected %[profile%] or key = value, got "just words"',
    } do
      local p
      p, err = config.load(sys_with({ ["/c"] = text }, { PROXYSHARD_CONFIG = "/c" }), "a")
      assert.is_nil(p, text)
      assert.are.equal("config", err.argument)
      assert.matches(pattern, err.message)
    end
  end)
end)

describe("a setting read as the file reads it (config.value: the environment's too)", function()
  it("reads seconds, a wait of 0, booleans and paths from ~", function()
    assert.are.equal(2.5, config.value("timeout", "2.5", "/h", "X"))
    assert.are.equal(0, config.value("lock_wait", "0", "/h", "X"))
    assert.is_true(config.value("allow_insecure", "yes", "/h", "X"))
    assert.are.equal("/h/ca.pem", config.value("ca_file", "~/ca.pem", "/h", "X"))
    assert.are.equal("socks5h://127.0.0.1:1080", config.value("proxy", "socks5h://127.0.0.1:1080", "/h", "X"))
    local v, why = config.value("timeout", "0", "/h", "PROXYSHARD_TIMEOUT")
    assert.is_nil(v)
    assert.are.equal("PROXYSHARD_TIMEOUT must be a number of seconds, got 0", why)
    v, why = config.value("lock_wait", "-1", "/h", "PROXYSHARD_LOCK_WAIT")
    assert.is_nil(v)
    assert.are.equal("PROXYSHARD_LOCK_WAIT must be a number of seconds (0: no wait), got -1", why)
  end)

  it("takes lock_wait = 0 in a profile", function()
    local p = config.parse("[a]\nlock_wait = 0\n", "/c")
    assert.are.same({ a = { lock_wait = 0 } }, p)
  end)
end)
