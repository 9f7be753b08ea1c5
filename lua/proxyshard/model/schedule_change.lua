--- What scheduling or cancelling a downgrade returned.
local format = string.format
local addon_line = require "proxyshard.model.addon_line"
local base = require "proxyshard.model.base"

local M = {}

local function describe(self)
  local what
  if self.action == "downgrade" then
    what = format("%s on order %s: downgrade to %d scheduled for the next renewal",
      self.addon_key, self.order_id, self.next_qty)
  else
    what = format("%s on order %s: pending downgrade cancelled", self.addon_key, self.order_id)
  end
  if self.message then what = what .. " (" .. self.message .. ")" end
  return what
end

local ScheduleChange = base.class("proxyshard.schedule_change", describe)

--- `action` is "downgrade" or "cancel_downgrade" (the row's name tells);
-- next_qty only for a downgrade.
function M.new(r, values, _, row)
  r.order_id, r.addon_key, r.next_qty = values.order_id, values.addon_key, values.next_qty
  r.action = row.name == "schedule_downgrade" and "downgrade" or "cancel_downgrade"
  r.addons = addon_line.list(r.addons)
  return base.wrap(ScheduleChange, r)
end

--- The add-on line concerned, when the answer listed it.
function ScheduleChange:line()
  return addon_line.find(self.addons, self.addon_key)
end

return M
