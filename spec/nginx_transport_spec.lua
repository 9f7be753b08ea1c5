-- The nginx transports, unit-tested with a stand-in `ngx` and a stand-in
-- lua-resty-http (the real ones are exercised in spec/nginx_spec.lua).
local json = require "proxyshard.json"

local phase
local captures, resty_calls

local function fake_ngx()
  return {
    get_phase = function() return phase end,
    HTTP_GET = 1, HTTP_POST = 8, HTTP_PUT = 4, HTTP_PATCH = 16, HTTP_DELETE = 32,
    sleep = function() end,
    time = function() return 1795000000 end,
    config = { ngx_lua_version = 10023 },
    location = {
      capture = function(uri, opts)
        captures[#captures + 1] = { uri = uri, opts = opts }
        return captures.answer or { status = 200, header = { ["Content-Type"] = "application/json" },
          body = '{"success":true,"order":{"order_id":12345}}' }
      end,
    },
  }
end

local fake_resty = {
  new = function()
    return {
      set_timeouts = function(self, c, s, r) self.timeouts = { c, s, r } end,
      request_uri = function(self, uri, params)
        resty_calls[#resty_calls + 1] = { uri = uri, params = params, timeouts = self.timeouts }
        if resty_calls.fail then return nil, resty_calls.fail end
        return { status = 200, headers = { ["Content-Type"] = "application/json" },
          body = '{"success":true,"order":{"order_id":12345}}' }
      end,
    }
  end,
}

local function fresh_modules()
  for name in pairs(package.loaded) do
    if name:find("^proxyshard") and name ~= "proxyshard.core" then package.loaded[name] = nil end
  end
  return require "proxyshard"
end

describe("inside nginx", function()
  local saved_ngx

  before_each(function()
    saved_ngx = rawget(_G, "ngx")
    _G.ngx = fake_ngx()
    captures, resty_calls = {}, {}
    phase = "content"
  end)

  after_each(function()
    _G.ngx = saved_ngx
    package.loaded["resty.http"] = nil
    fresh_modules()
  end)

  describe("with only a subrequest location", function()
    it("goes through ngx.location.capture, headers as variables", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/proxyshard/" }
      local info = assert(client:order(12345):fetch())
      assert.are.equal(12345, info.order_id)
      local c = captures[1]
      assert.are.equal("/proxyshard/user/api/orders/12345", c.uri)
      assert.are.equal(1, c.opts.method)
      assert.are.equal("Bearer tok_nginx_spec_secret", c.opts.vars.proxyshard_authorization)
      assert.matches("^proxyshard%-lua/.* ngx_lua/10023%)$", c.opts.vars.proxyshard_user_agent)
      assert.are.equal("", c.opts.vars.proxyshard_content_type)
    end)

    it("sends a purchase as a POST with its JSON body and query strings intact", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/ps" }
      captures.answer = { status = 200, header = {}, body = '{"success":true,"addons_price_paid":150}' }
      assert(client:order(12345):addon("p0f_slots"):purchase(2))
      assert.are.equal("/ps/user/api/orders/12345/addons/purchase", captures[1].uri)
      assert.are.equal(8, captures[1].opts.method)
      assert.are.equal('{"add_qty":2,"addon_key":"p0f_slots"}', captures[1].opts.body)
      assert.are.equal("application/json", captures[1].opts.vars.proxyshard_content_type)
      captures.answer = { status = 200, header = {}, body = '{"success":true,"add_qty":2,"add_total":60}' }
      assert(client:order(12345):addon("p0f_slots"):quote(2))
      assert.are.equal("/ps/user/api/orders/12345/addons/calculate?addon_key=p0f_slots&add_qty=2", captures[2].uri)
    end)

    it("makes a cut-short answer to a purchase an unknown outcome", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/ps" }
      captures.answer = { status = 200, header = {}, body = '{"succ', truncated = true }
      local receipt, err = client:order(12345):addon("p0f_slots"):purchase(2)
      assert.is_nil(receipt)
      assert.are.equal("unknown_outcome", err.kind)
      assert.are.equal(1, #captures)
    end)

    for _, p in ipairs({ "init_worker", "set", "log", "header_filter", "body_filter", "timer" }) do
      it("refuses the " .. p .. " phase with a clear error and sends nothing", function()
        local proxyshard = fresh_modules()
        local client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/ps" }
        phase = p
        local info, err = client:order(12345):fetch()
        assert.is_nil(info)
        assert.are.equal("phase", err.kind)
        assert.matches("in nginx's " .. p .. " phase", err.message, 1, true)
        assert.matches("ngx.timer.at", err.message, 1, true)
        assert.are.equal(1, err.attempts)
        assert.are.equal(0, #captures)
      end)
    end
  end)

  describe("with lua-resty-http installed", function()
    before_each(function() package.loaded["resty.http"] = fake_resty end)

    it("uses request_uri with keep-alive and verification, also in a timer", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", timeout = 7, connect_timeout = 2 }
      phase = "timer"
      assert(client:order(12345):fetch())
      local call = resty_calls[1]
      assert.are.equal("https://user-api.proxyshard.com/user/api/orders/12345", call.uri)
      assert.are.equal("GET", call.params.method)
      assert.are.equal("Bearer tok_nginx_spec_secret", call.params.headers.Authorization)
      assert.is_true(call.params.ssl_verify)
      assert.are.equal(60000, call.params.keepalive_timeout)
      assert.are.same({ 2000, 7000, 7000 }, call.timeouts)
    end)

    it("maps request_uri's failures", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", max_retries = 0 }
      local cases = { { "timeout", "timeout", true }, { "connection refused", "network", false },
        { "closed", "network", true }, { "handshake failed", "tls", false } }
      for _, case in ipairs(cases) do
        resty_calls.fail = case[1]
        local info, err = client:order(12345):fetch()
        assert.is_nil(info)
        assert.are.equal(case[2], err.kind)
        assert.are.equal(case[3], err.request_sent)
      end
      resty_calls.fail = "closed"
      local receipt, err = client:order(12345):addon("p0f_slots"):purchase(1)
      assert.is_nil(receipt)
      assert.are.equal("unknown_outcome", err.kind)
    end)

    it("still refuses a phase without cosockets", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret" }
      phase = "log"
      local info, err = client:order(12345):fetch()
      assert.is_nil(info)
      assert.are.equal("phase", err.kind)
      assert.are.equal(0, #resty_calls)
    end)

    it("prefers lua-resty-http, and takes the subrequest when asked by name", function()
      local proxyshard = fresh_modules()
      local client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/ps",
        transport = "subrequest" }
      assert(client:order(12345):fetch())
      assert.are.equal(1, #captures)
      assert.are.equal(0, #resty_calls)
      client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/ps" }
      assert(client:order(12345):fetch())
      assert.are.equal(1, #resty_calls)
    end)
  end)

  it("refuses to start without a non-blocking way, naming the blocking one", function()
    local proxyshard = fresh_modules()
    local ok, err = pcall(proxyshard.new, { token = "tok_nginx_spec_secret" })
    assert.is_false(ok)
    assert.matches("lua%-resty%-http or give subrequest_location", tostring(err))
    assert.matches("transport = \"curl\"", tostring(err), 1, true)
  end)

  it("uses blocking libcurl only when asked for by name", function()
    local proxyshard = fresh_modules()
    local client = proxyshard.new { token = "tok_nginx_spec_secret", transport = "curl",
      base_url = "http://127.0.0.1:1", max_retries = 0 }
    local info, err = client:order(12345):fetch()
    assert.is_nil(info)
    assert.are.equal("network", err.kind) -- libcurl tried, and nothing listens there
    assert.are.equal(0, #captures)
  end)

  it("sleeps with ngx.sleep between retries", function()
    local slept = {}
    _G.ngx.sleep = function(s) slept[#slept + 1] = s end
    local proxyshard = fresh_modules()
    local client = proxyshard.new { token = "tok_nginx_spec_secret", subrequest_location = "/ps",
      random = function() return 0 end }
    captures.answer = { status = 503, header = {}, body = json.encode { success = false, message = "busy" } }
    local _, err = client:order(12345):fetch()
    assert.are.equal(3, err.attempts)
    assert.are.same({ 0.5, 0.5 }, slept)
  end)
end)
