-- The one spending flow: every row of the operation table with
-- `spends = true` is served by proxyshard.flows.spend, whatever its
-- handle — priced before anything is sent, refused above max_total with
-- nothing sent. Walks the rows, so a spending row added later is checked
-- too, and a spending method written by hand around the flow fails here.
local proxyshard = require "proxyshard"
local operations = require "proxyshard.operations"
local handles = require "proxyshard.handles"
local price = require "proxyshard.flows.price"
local evidence = require "proxyshard.flows.evidence"
local fake_transport = require "support.fake_transport"
local rows = require "support.rows"

local handle_for, call, priced_fake = rows.handle_for, rows.call, rows.priced_fake

local spending = {}
for _, row in ipairs(operations.rows) do
  if row.spends then spending[#spending + 1] = row end
end

describe("the spending rows", function()
  it("are the four the API has, each with a way to price it and evidence to reconcile by", function()
    local names = {}
    for _, row in ipairs(spending) do
      names[#names + 1] = row.handle .. "." .. row.name
      assert.is_function(price[row.price], row.name .. ": price " .. tostring(row.price))
      assert.is_table(evidence[row.evidence], row.name .. ": evidence " .. tostring(row.evidence))
      assert.are.equal("write", row.class)
      -- the spending options, from one list
      assert.are.equal(operations.SPEND_OPTIONS, row.options)
    end
    table.sort(names)
    assert.are.same({ "addon.purchase", "client.purchase_order", "order.add_bandwidth", "order.renew" }, names)
  end)

  it("are each served by proxyshard.flows.spend, whatever the handle", function()
    local spend = require "proxyshard.flows.spend"
    local real = spend.run
    local seen = {}
    spend.run = function(h, row, args, opts)
      seen[#seen + 1] = { handle = h, row = row, args = args, opts = opts }
      return "spent"
    end
    local ok, err = pcall(function()
      local client = proxyshard.new { token = "tok-spend-spec", transport = fake_transport.new() }
      for _, row in ipairs(spending) do
        local h = handle_for(client, row.handle)
        local before = #seen
        assert.are.equal("spent", call(h, row, { max_total = 1 }), row.name)
        assert.are.equal(before + 1, #seen, row.name .. " did not go through the spending flow")
        assert.are.equal(row, seen[#seen].row)
        assert.are.equal(h, seen[#seen].handle)
        assert.are.same({ max_total = 1 }, seen[#seen].opts)
        assert.are.equal(handles.classes[row.handle][row.name], h[row.name])
      end
    end)
    spend.run = real
    assert(ok, err)
  end)

  it("each refuse above max_total with nothing but reads sent", function()
    for _, row in ipairs(spending) do
      local fake = priced_fake()
      local client = proxyshard.new { token = "tok-spend-spec", transport = fake }
      local v, err = call(handle_for(client, row.handle), row, { max_total = 100 })
      assert.is_nil(v, row.name)
      assert.are.equal("budget", err.kind, row.name .. ": " .. tostring(err))
      assert.is_false(err.bought)
      assert.matches("above max_total %$1%.00: nothing was bought", err.message)
      for _, req in ipairs(fake.standing_seen) do assert.are.equal("GET", req.method, row.name) end
      assert.are.same({}, fake.requests, row.name .. " sent something the fake did not expect")
      assert.is_true(#fake.standing_seen >= 1, row.name .. " was not priced")
    end
  end)

  it("each ask confirm with the price before sending, and send nothing when it says no", function()
    for _, row in ipairs(spending) do
      local fake = priced_fake()
      local client = proxyshard.new { token = "tok-spend-spec", transport = fake }
      local shown
      local v, err = call(handle_for(client, row.handle), row, { confirm = function(p)
        shown = p
        return false
      end })
      assert.is_nil(v, row.name)
      assert.are.equal("declined", err.kind, row.name)
      assert.are.equal(99999, shown.total.cents, row.name)
      assert.is_string(shown.text)
      assert.are.same({}, fake.requests, row.name)
    end
  end)

  it("each refuse bad input before the price is asked", function()
    for _, row in ipairs(spending) do
      local fake = fake_transport.new()
      local client = proxyshard.new { token = "tok-spend-spec", transport = fake }
      local h = handle_for(client, row.handle)
      local _, err = h[row.name](h, row.args == "table" and { product = 7 } or -1, { max_total = 100 })
      assert.are.equal("invalid_argument", err.kind, row.name)
      _, err = call(h, row, { max_totl = 100 })
      assert.are.equal("invalid_argument", err.kind, row.name)
      assert.matches('did you mean "max_total"', err.message)
      assert.are.same({}, fake.requests, row.name)
    end
  end)

  it("a spending row added without a way to price it refuses max_total rather than guess", function()
    local row = setmetatable({ price = "no_such_price", name = "spend_more" },
      { __index = operations.find("order", "renew") })
    local fake = fake_transport.new()
    local client = proxyshard.new { token = "tok-spend-spec", transport = fake }
    local _, err = require("proxyshard.flows.spend").run(client:order(12345), row, {}, { max_total = 100 })
    assert.are.equal("budget", err.kind)
    assert.matches("spend_more has no price", err.message)
    assert.are.same({}, fake.requests)
  end)
end)
