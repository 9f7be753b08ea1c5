-- Options are checked before anything is sent, on every call, flow and
-- handle, by one rule (issue 17, item 4): walks every method the handle
-- tree gives — each row's, each all-pages one, each hand-written flow —
-- with an unknown option and with bad values, and sees nothing sent (not
-- even a read), whatever the call would have done first.
local proxyshard = require "proxyshard"
local operations = require "proxyshard.operations"
local rows = require "support.rows"

-- Every method: { handle, name, call = function(h, opts) }.
local function methods()
  local out = {}
  for _, row in ipairs(operations.rows) do
    out[#out + 1] = { handle = row.handle, name = row.name, spends = row.spends,
      call = function(h, opts) return rows.call(h, row, opts) end }
    if row.all then
      out[#out + 1] = { handle = row.handle, name = row.all.method, call = function(h, opts)
        if row.all.params then return h[row.all.method](h, rows.args_for(row)[1], opts) end
        return h[row.all.method](h, opts)
      end }
    end
  end
  for _, node in ipairs(operations.handles) do
    for _, m in ipairs(node.methods or {}) do
      if m.flow and m.name == "top_up_p0f" then
        -- with nothing to buy (free 0) as with something: options first either way
        for _, free in ipairs { 0, 5 } do
          out[#out + 1] = { handle = node.name, name = m.name .. "(" .. free .. ")", spends = true,
            call = function(h, opts) return h[m.name](h, free, opts) end }
        end
      elseif m.flow then
        out[#out + 1] = { handle = node.name, name = m.name, call = function(h, opts) return h[m.name](h, opts) end }
      end
    end
  end
  return out
end

local function nothing_sent(fake, what)
  assert.are.same({}, fake.requests, what)
  assert.are.same({}, fake.standing_seen or {}, what)
end

local function try(m, opts)
  local fake = rows.priced_fake()
  local client = proxyshard.new { token = "tok-options-first", transport = fake }
  local v, err = m.call(rows.handle_for(client, m.handle), opts)
  return v, err, fake
end

describe("every method", function()
  local all = methods()

  it("is walked: the rows, the all-pages methods and the flows", function()
    assert.is_true(#all >= 34 + 2 + 3, #all)
  end)

  it("refuses an unknown option by name, with the closest one, and sends nothing", function()
    for _, m in ipairs(all) do
      local v, err, fake = try(m, { timout = 5 })
      assert.is_nil(v, m.name)
      assert.are.equal("invalid_argument", err.kind, m.name .. ": " .. tostring(err))
      assert.are.equal("timout", err.argument, m.name)
      assert.matches('did you mean "timeout"', err.message, 1, true)
      nothing_sent(fake, m.name)
    end
  end)

  it("refuses a bad value of a known option and sends nothing", function()
    for _, m in ipairs(all) do
      for _, opts in ipairs { { timeout = -1 }, { timeout = "5" }, { max_retries = 1.5 } } do
        local v, err, fake = try(m, opts)
        assert.is_nil(v, m.name)
        assert.are.equal("invalid_argument", err.kind, m.name .. ": " .. tostring(err))
        nothing_sent(fake, m.name)
      end
    end
  end)

  it("that spends refuses a bad cap or spending option before any read, also when nothing is missing", function()
    local spending = 0
    for _, m in ipairs(all) do
      if m.spends then
        spending = spending + 1
        for _, opts in ipairs { { max_total = true }, { max_total = -1 }, { max_total = 2 ^ 53 },
            { max_total = "1.005" }, { confirm = "yes" }, { settle = -1 }, { lock_wait = "x" } } do
          local v, err, fake = try(m, opts)
          assert.is_nil(v, m.name)
          assert.are.equal("invalid_argument", err.kind, m.name .. " " .. next(opts) .. ": " .. tostring(err))
          assert.are.equal(next(opts), err.argument, m.name)
          nothing_sent(fake, m.name)
        end
      end
    end
    assert.are.equal(4 + 2, spending) -- the four spending rows, top_up_p0f with and without a need
  end)

  it("that does not spend refuses a spending option as unknown", function()
    for _, m in ipairs(all) do
      if not m.spends and m.name ~= "pending" and m.name ~= "settle" then
        local v, err, fake = try(m, { max_total = 100 })
        assert.is_nil(v, m.name)
        assert.are.equal("max_total", err.argument, m.name)
        nothing_sent(fake, m.name)
      end
    end
  end)
end)
