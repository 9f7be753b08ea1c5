--- What order:top_up_p0f did: the free p0f slots before and after, how
-- many it bought (0 when there were enough) and the purchase's receipt.
local base = require "proxyshard.model.base"

local format = string.format
local tostring = tostring

local M = {}

local TopUp = base.class("proxyshard.top_up", function(self)
  local head = format("order %s: %d free p0f slots, %d wanted", tostring(self.order_id), self.free_before, self.wanted)
  if self.bought == 0 then return head .. ": nothing to buy" end
  local cost = self.receipt and self.receipt.quote and self.receipt.quote.total
  return head .. format(": bought %d%s", self.bought, cost and (" for " .. tostring(cost)) or "")
end)

--- Wrap what top_up_p0f did: { order_id, wanted, free_before, bought, free_after, receipt }.
function M.new(fields)
  return base.wrap(TopUp, fields)
end

return M
