-- The README's main command, end to end: scripts/demo.sh starts the
-- sandbox and runs examples/topup.lua against it.
local shell = require "support.shell"

describe("scripts/demo.sh", function()
  it("quotes, refuses over the cap, buys, signs, schedules, cancels, and spends exactly $0.60", function()
    local out, ok = shell.run("bash scripts/demo.sh 2>&1")
    assert.is_true(ok, out)
    local expected = {
      "account%s+dev@sandbox%.proxyshard%.test: 4 active orders, wallet %$100%.00",
      "quote%s+p0f_slots %+2 on order 12345: 2 × %$0%.30 = %$0%.60 %(3 → 5%)",
      "cap of %$0%.01%s+refused, nothing bought",
      "purchase%s+bought p0f_slots %+2 on order 12345 for %$0%.60",
      "signed IPs%s+4\n",
      "schedule downgrade%s+p0f_slots on order 12345: downgrade to 4 scheduled",
      "pending%s+.*%(downgrade to 4 at renewal%); p0f slots 5/5 used, 4 next period",
      "cancel downgrade%s+p0f_slots on order 12345: pending downgrade cancelled",
      "spent%s+%$0%.60 %(quoted %$0%.60, cap %$1%.00%)",
      "wallet after%s+%$99%.40",
      "POST /user/api/orders/12345/addons/purchase %-> 200",
    }
    for _, pattern in ipairs(expected) do
      assert.matches(pattern, out)
    end
    -- exactly one purchase reached the sandbox
    local _, purchases = out:gsub("POST /user/api/orders/12345/addons/purchase", "")
    assert.are.equal(1, purchases)
  end)
end)
