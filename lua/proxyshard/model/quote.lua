--- A price preview for extra units of an add-on (nothing is bought).
local tostring = tostring
local format = string.format
local errors = require "proxyshard.errors"
local base = require "proxyshard.model.base"

local M = {}

local function show(v)
  if v == nil then return "?" end
  return tostring(v)
end

-- p0f_slots +2 on order 12345: 2 × $0.30 = $0.60 (3 → 5)
local function describe(self)
  return format("%s +%s on order %s: %s × %s = %s (%s → %s)", self.addon_key, show(self.add_qty),
    show(self.order_id), show(self.add_qty), show(self.price_per_unit), show(self.total),
    show(self.current_qty), show(self.new_qty))
end

local Quote = base.class("proxyshard.quote", describe)

--- From the converted calculate answer: current_qty, add_qty and new_qty
-- are integers; price_per_unit and total are money values. A quote for
-- another add-on than the one asked is refused (decode): its price must
-- not pass for this one's.
function M.new(r, values, _, row)
  local order_id, addon_key = values.order_id, values.addon_key
  if r.addon_key ~= nil and r.addon_key ~= addon_key then
    return nil, errors.new("decode", format("the quote is for add-on %q, not %q", r.addon_key, addon_key),
      { method = row.method, path = format("/user/api/orders/%d/addons/calculate", order_id) })
  end
  r.order_id, r.addon_key = order_id, addon_key
  r.total, r.add_total = r.add_total, nil
  return base.wrap(Quote, r)
end

return M
