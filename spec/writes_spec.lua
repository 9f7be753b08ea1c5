-- Every write row of the operation table: a 2xx it cannot read is an
-- unknown outcome, never a decode error — a caller that retries on decode
-- would do it twice (create a sub-user twice, buy twice). Walks the rows,
-- so a write added later is held to it too.
local proxyshard = require "proxyshard"
local operations = require "proxyshard.operations"
local rows = require "support.rows"

local JSON = { ["content-type"] = "application/json" }

local writes = {}
for _, row in ipairs(operations.rows) do
  if row.class == "write" then writes[#writes + 1] = row end
end

-- Call `row` with its write answered by `answer`; reads (a spend's price
-- and evidence) by the standing answers of support.rows.
local function answered(row, answer)
  local fake = rows.priced_fake()
  fake:push(answer)
  local client = proxyshard.new { token = "tok-writes-spec", transport = fake }
  local v, err = rows.call(rows.handle_for(client, row.handle), row)
  return v, err, fake
end

describe("every write", function()
  it("has rows to walk: the 17 writes of the document 1.1.0", function()
    assert.is_true(#writes >= 17, #writes)
  end)

  it("makes a 2xx that is not JSON an unknown outcome, complete (not in flight)", function()
    for _, row in ipairs(writes) do
      local v, err, fake = answered(row, { status = 200, headers = JSON, body = "<html>ok</html>" })
      assert.is_nil(v, row.name)
      assert.are.equal("unknown_outcome", err.kind, row.handle .. ":" .. row.name .. ": " .. tostring(err))
      assert.are.equal("decode", err.cause)
      assert.is_false(err.in_flight)
      assert.are.equal(1, #fake.requests, row.name) -- sent once, never again
    end
  end)

  it("takes a 2xx with only success as done, or as an unknown outcome: never a decode error", function()
    for _, row in ipairs(writes) do
      local v, err = answered(row, { status = 200, headers = JSON, body = '{"success":true}' })
      if v == nil then
        assert.are.equal("unknown_outcome", err.kind, row.handle .. ":" .. row.name .. ": " .. tostring(err))
      end
    end
  end)

  it("create_sub_user: an answer that lists no sub-user is an unknown outcome (it may exist now)", function()
    local row = operations.find("residential", "create_sub_user")
    local v, err = answered(row, { status = 200, headers = JSON, body = '{"success":true,"data":[]}' })
    assert.is_nil(v)
    assert.are.equal("unknown_outcome", err.kind)
    assert.are.equal("decode", err.cause)
    assert.matches("lists no sub%-user", err.message)
    assert.matches("may have been carried out", err.message)
  end)
end)
