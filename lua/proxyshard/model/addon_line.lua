--- One add-on line of an order: units active now, their unit price, and
-- the change (if any) pending for the next renewal.
local setmetatable = setmetatable
local base = require "proxyshard.model.base"
local format = string.format
local tostring = tostring
local ipairs = ipairs

local M = {}

local function describe(self)
  local text = format("%s: %s × %s", self.addon_key or "?", self.qty or "?",
    self.price_per_unit and tostring(self.price_per_unit) or "?")
  local p = self.pending
  if p and p.action == "downgrade" then
    text = text .. format(" (downgrade to %s at renewal)", p.next_qty or "?")
  elseif p and p.action then
    text = text .. format(" (%s at renewal)", p.action)
  end
  return text
end

local AddonLine = base.class("proxyshard.addon_line", describe)

--- Wrap a converted AddonLine (see proxyshard.shapes.addon_line).
function M.new(fields)
  return setmetatable(fields, AddonLine)
end

--- The quantity the line will have after the next renewal.
function AddonLine:next_qty()
  local p = self.pending
  if p and p.action == "downgrade" and p.next_qty then return p.next_qty end
  if p and p.action == "cancel" then return 0 end
  return self.qty
end

--- The line for add-on `key` in a list of lines (nil when absent).
function M.find(lines, key)
  for _, line in ipairs(lines or {}) do
    if line.addon_key == key then return line end
  end
end

--- Wrap each line of a converted list (nil stays nil).
function M.list(lines)
  return base.list(AddonLine, lines)
end

return M
