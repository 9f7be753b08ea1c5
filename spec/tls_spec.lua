-- Real TLS: the sandbox serves HTTPS with a certificate made for this run;
-- libcurl verifies it, and the client trusts it only when told to.
local proxyshard = require "proxyshard"
local sandbox_process = require "support.sandbox_process"
local shell = require "support.shell"

local TOKEN = "sandbox-token"

describe("over HTTPS", function()
  local dir, cert, key, sb

  setup(function()
    dir = shell.tmpdir()
    cert, key = dir .. "/cert.pem", dir .. "/key.pem"
    assert(shell.sh(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 "
      .. "-subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 -keyout %s -out %s >/dev/null 2>&1")
      :format(key, cert)))
    sb = sandbox_process.start(("--tls-cert %s --tls-key %s"):format(cert, key), cert)
  end)

  teardown(function()
    if sb then sb:stop() end
    if dir then shell.sh("rm -rf " .. shell.q(dir)) end
  end)

  it("serves https", function()
    assert.matches("^https://127%.0%.0%.1:%d+$", sb.url)
  end)

  it("refuses an unknown certificate by default, with kind tls, sent nowhere and not retried", function()
    local client = proxyshard.new { token = TOKEN, base_url = sb.url, sleep = function() error("no retry") end }
    local info, err = client:order(12345):fetch()
    client:close()
    assert.is_nil(info)
    assert.are.equal("tls", err.kind)
    assert.is_false(err.request_sent)
    assert.are.equal(1, err.attempts)
    assert.matches("certificate", err.message)
    assert.are.equal(0, #sb:requests())
  end)

  it("refuses a purchase the same way, with nothing charged", function()
    local client = proxyshard.new { token = TOKEN, base_url = sb.url }
    local receipt, err = client:order(12345):addon("p0f_slots"):purchase(1)
    client:close()
    assert.is_nil(receipt)
    assert.are.equal("tls", err.kind)
    assert.are.equal(0, #sb:ledger())
  end)

  it("works with ca_file, over one kept-alive connection", function()
    local events = {}
    local client = proxyshard.new { token = TOKEN, base_url = sb.url, ca_file = cert,
      on_response = function(e) events[#events + 1] = e end }
    local info = assert(client:order(12345):fetch())
    assert.are.equal(12345, info.order_id)
    local quote = assert(client:order(12345):addon("p0f_slots"):quote(2))
    client:close()
    assert.are.equal(60, quote.total.cents)
    assert.is_false(events[1].reused)
    assert.is_true(events[2].reused)
  end)

  it("checks the host name too", function()
    local port = sb.url:match(":(%d+)$")
    local client = proxyshard.new { token = TOKEN, base_url = "https://localhost:" .. port, ca_file = cert }
    local info, err = client:order(12345):fetch()
    client:close()
    assert.is_nil(info)
    assert.are.equal("tls", err.kind)
  end)

  it("refuses plain http to anything but loopback unless allow_insecure", function()
    local ok, err = pcall(proxyshard.new, { token = TOKEN, base_url = "http://api.example.com" })
    assert.is_false(ok)
    assert.are.equal("invalid_argument", err.kind)
    assert.are.equal("base_url", err.argument)
    assert.is_table(proxyshard.new { token = TOKEN, base_url = "http://api.example.com", allow_insecure = true })
  end)
end)
