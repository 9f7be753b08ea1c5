--- What a change that answers only { success, message } returned: the
-- server's message, and which call it answers; for a spend (renew,
-- add_bandwidth), what it cost (proxyshard.flows.spend adds it).
local base = require "proxyshard.model.base"

local format = string.format

local M = {}

local Ack = base.class("proxyshard.ack", function(self)
  return format("%s: done%s%s", self.operation, base.cost(self), self.message and (" (" .. self.message .. ")") or "")
end)

--- The Ack of a change: the answer `r` of the row `row` (its message).
function M.new(r, _, _, row)
  return base.wrap(Ack, { message = r.message, operation = row.name })
end

return M
