-- Proxy lists out (issue 18, item 1): each format parsed back gives the
-- proxies it was made from — IPv4 and IPv6, a password with "@:/%" and a
-- CSV's quote and comma — and a bad format, field or scheme is refused
-- with the closest name. Over the fake transport: the list is the one
-- order:proxies() returns.
local proxyshard = require "proxyshard"
local fake_transport = require "support.fake_transport"
local cjson = require "cjson"

local PROXIES = {
  { ip = "203.0.113.7", username = "user@x", password = "p:a/s%@w", http_port = 8080, socks_port = 1080,
    status = "active", signature = "linux", ["until"] = "2026-12-01T09:00:00Z" },
  { ip = "2001:db8::1", username = "u2", password = 'q,"r', http_port = 8081, socks_port = 1081, status = "active" },
}

local function list()
  local fake = fake_transport.new()
  fake:json(cjson.encode { success = true, order_tag = "t", data = PROXIES })
  local client = proxyshard.new { token = "tok-export-spec", transport = fake }
  return assert(client:order(12345):proxies())
end

local function unescape(s)
  return (s:gsub("%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end))
end

local function lines(text)
  local out = {}
  for line in text:gmatch("([^\n]*)\n") do out[#out + 1] = line end
  return out
end

-- scheme://user:pass@host:port → its parts, the credentials decoded
local function parse_url(u)
  local scheme, user, pass, host, port = u:match("^(%w+)://([^:@]*):([^@]*)@(.+):(%d+)$")
  assert(scheme, "not a proxy URL: " .. u)
  assert.is_nil(user:find("[^%w%-%._~%%]"), "a raw byte in the user: " .. u)
  assert.is_nil(pass:find("[^%w%-%._~%%]"), "a raw byte in the password: " .. u)
  return { scheme = scheme, username = unescape(user), password = unescape(pass),
    ip = host:match("^%[(.*)%]$") or host, port = tonumber(port) }
end

-- RFC 4180: fields separated by commas, "..." quoting with "" for a quote
local function parse_csv_line(line)
  local out, i = {}, 1
  while i <= #line + 1 do
    if line:sub(i, i) == '"' then
      local value, j = "", i + 1
      while true do
        local q = line:find('"', j, true)
        value = value .. line:sub(j, q - 1)
        if line:sub(q + 1, q + 1) == '"' then value, j = value .. '"', q + 2 else i = q + 2 break end
      end
      out[#out + 1] = value
    else
      local comma = line:find(",", i, true) or (#line + 1)
      out[#out + 1] = line:sub(i, comma - 1)
      i = comma + 1
    end
  end
  return out
end

describe("a proxy list", function()
  it("in txt is ip:port:user:pass, IPv6 in brackets, one line per proxy", function()
    local got = lines(list():format("txt"))
    assert.are.same({ "203.0.113.7:8080:user@x:p:a/s%@w", "[2001:db8::1]:8081:u2:q,\"r" }, got)
    -- read back as a tool does: host, port, user, and the rest is the password
    for i, line in ipairs(got) do
      local host, port, user, pass = line:match("^(%[?[^%]]-%]?):(%d+):([^:]*):(.*)$")
      assert.are.equal(PROXIES[i].ip, host:match("^%[(.*)%]$") or host)
      assert.are.equal(PROXIES[i].http_port, tonumber(port))
      assert.are.equal(PROXIES[i].username, user)
      assert.are.equal(PROXIES[i].password, pass)
    end
  end)

  for _, case in ipairs { { "http", "http_port" }, { "socks5h", "socks_port" }, { "socks4", "socks_port" } } do
    it("in url (" .. case[1] .. ") parses back, credentials percent-encoded", function()
      local got = lines(list():format("url", { scheme = case[1] }))
      assert.are.equal(#PROXIES, #got)
      for i, line in ipairs(got) do
        local u = parse_url(line)
        assert.are.same({ scheme = case[1], username = PROXIES[i].username, password = PROXIES[i].password,
          ip = PROXIES[i].ip, port = PROXIES[i][case[2]] }, u)
      end
      assert.matches("@%[2001:db8::1%]:", got[2])
    end)
  end

  it("in csv has a header and parses back, quotes and commas kept", function()
    local got = lines(list():format("csv"))
    assert.are.equal("ip,http_port,socks_port,username,password,status,signature,until,order_id", got[1])
    assert.are.equal(#PROXIES + 1, #got)
    for i = 1, #PROXIES do
      local f = parse_csv_line(got[i + 1])
      assert.are.equal(9, #f, got[i + 1])
      assert.are.same({ PROXIES[i].ip, tostring(PROXIES[i].http_port), tostring(PROXIES[i].socks_port),
        PROXIES[i].username, PROXIES[i].password, PROXIES[i].status or "", PROXIES[i].signature or "",
        PROXIES[i]["until"] or "", "12345" }, f)
    end
  end)

  it("in json is one object per line, with its order and its URL", function()
    local got = lines(list():format("json"))
    for i, line in ipairs(got) do
      local o = cjson.decode(line)
      assert.are.equal(PROXIES[i].ip, o.ip)
      assert.are.equal(PROXIES[i].password, o.password)
      assert.are.equal(12345, o.order_id)
      assert.are.same(parse_url(o.url).password, PROXIES[i].password)
    end
  end)

  it("in a template fills each {field}, {{ and }} being braces", function()
    local got = lines(list():format("{{{scheme}}} {host} {port} {user}:{pass} {order_id}", { scheme = "socks5" }))
    assert.are.same({ "{socks5} 203.0.113.7 1080 user%40x:p%3Aa%2Fs%25%40w 12345",
      "{socks5} [2001:db8::1] 1081 u2:q%2C%22r 12345" }, got)
  end)

  it("each proxy gives its URL: proxy:url{ scheme }", function()
    local l = list()
    assert.are.equal("http://user%40x:p%3Aa%2Fs%25%40w@203.0.113.7:8080", l[1]:url())
    assert.are.equal("socks5://u2:q%2C%22r@[2001:db8::1]:1081", l[2]:url { scheme = "socks5" })
  end)

  it("refuses a bad format, field or scheme, naming the closest", function()
    local l = list()
    local v, err = l:format("tx")
    assert.is_nil(v)
    assert.are.equal("format", err.argument)
    assert.matches('did you mean "txt"', err.message)
    v, err = l:format("{ipp}:{port}")
    assert.is_nil(v)
    assert.are.equal("template", err.argument)
    assert.matches("{ipp} %(did you mean {ip}%?%)", err.message)
    v, err = l:format("txt", { scheme = "sock5" })
    assert.is_nil(v)
    assert.are.equal("scheme", err.argument)
    assert.matches('did you mean "socks5"', err.message)
    v, err = l[1]:url { scheme = "ftp" }
    assert.is_nil(v)
    assert.are.equal("scheme", err.argument)
  end)

  it("empty is empty text, and still prints as a list", function()
    local fake = fake_transport.new()
    fake:json('{"success":true,"data":[]}')
    local empty = assert(proxyshard.new { token = "tok-export-spec", transport = fake }:order(1):proxies())
    assert.are.equal("", empty:format("txt"))
    assert.are.equal("ip,http_port,socks_port,username,password,status,signature,until,order_id\n", empty:format("csv"))
    assert.are.equal("(none)", tostring(empty))
  end)
end)
