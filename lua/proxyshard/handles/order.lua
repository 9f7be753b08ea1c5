--- An order handle: made by client:order(id) without any request. Its
-- calls come from the operation rows (fetch, proxies, set_signatures,
-- set_deletion, set_tag, change_cycle, set_auto_renewal, add_bandwidth);
-- renew is a flow on top of its row, for reconciliation.
local validate = require "proxyshard.check.validate"
local engine = require "proxyshard.engine"
local operations = require "proxyshard.operations"
local handle = require "proxyshard.handles"
local reconcile = require "proxyshard.flows.reconcile"
local errors = require "proxyshard.errors"
local top_up = require "proxyshard.model.top_up"

local tostring = tostring
local format = string.format

local M = {}

local Order = handle.class("proxyshard.order", function(self)
  return format("proxyshard order %s", tostring(self.id))
end)

engine.bind(Order, "order")

--- The handle; with a bad id, a handle whose every call returns nil, err —
-- and the err as a second value.
function M.new(client, id)
  local order_id, err = validate.id(id, "order_id")
  return handle.make(Order, { client = client, id = order_id }, err)
end

function Order:bound()
  return { order = self.id }
end

--- The handle of one add-on of this order (no request is made).
function Order:addon(key)
  return require("proxyshard.handles.addon").new(self, key)
end

-- a top-up is a purchase of the missing slots: the same options
local TOP_UP_OPTIONS = engine.flow_options(operations.find("addon", "purchase"))

--- Make sure the order has at least `free` unused p0f slots: read it, and
-- buy only the slots missing (nothing when there are enough). Run twice —
-- say, a cron job killed half-way and started again — it never buys twice
-- what one run would: the second run reads the slots the first bought.
-- opts: purchase's options (max_total for what is missing, reconcile,
-- settle) and the call options, for every request it makes. Returns what
-- it did: { order_id, wanted, free_before, bought, free_after, receipt }.
function Order:top_up_p0f(free, opts)
  if self.error then return nil, self.error end
  local wanted, err = validate.quantity(free, "free", 0)
  if not wanted then return nil, err end
  local call
  call, err = self.client:begin(opts, TOP_UP_OPTIONS)
  if not call then return nil, err end
  local info
  info, err = self:fetch(call)
  if not info then return nil, err end
  local have = info:p0f_slots_free()
  if have == nil then
    return nil, errors.new("decode", format("order %d does not show its p0f slots (p0f_slots_available, "
      .. "p0f_slots_used): cannot tell what is missing, so nothing was bought", self.id),
      { method = "GET", path = format("/user/api/orders/%d", self.id) })
  end
  local result = { order_id = self.id, wanted = wanted, free_before = have, bought = 0, free_after = have }
  if have >= wanted then return top_up.new(result) end
  local missing = wanted - have
  local receipt
  receipt, err = self:addon("p0f_slots"):purchase(missing, call)
  if not receipt then return nil, err end
  result.bought, result.free_after, result.receipt = missing, have + missing, receipt
  return top_up.new(result)
end

local RENEW = operations.find("order", "renew")
local RENEW_OPTIONS = engine.flow_options(RENEW)

-- What a renewal changes: the status, or the expiry.
local function renewal_state(info)
  return { status = info.status, expires_at = info.expires_at }
end

--- POST /user/api/orders/{id}/renew: renew an on-hold order; the wallet is
-- charged. opts.reconcile: read the order before, and after an unknown
-- outcome re-read it (for opts.settle seconds, default 10): an order whose
-- expiry moved or that became active was renewed. See proxyshard.flows.reconcile.
function Order:renew(opts)
  if self.error then return nil, self.error end
  local call, err = self.client:begin(opts, RENEW_OPTIONS)
  if not call then return nil, err end
  local settle
  settle, err = reconcile.settle(call.opts)
  if not settle then return nil, err end
  local before
  if call.opts.reconcile then
    local info
    info, err = self:fetch(call)
    if not info then return nil, err end
    before = renewal_state(info)
  end
  local r, values = engine.send(self, RENEW, {}, call)
  if r then return engine.wrap(self, RENEW, r, values) end
  err = values
  if err.kind ~= "unknown_outcome" or not before then return nil, err end
  return reconcile.run {
    client = self.client, window = self.client:extend(call, settle), err = err,
    what = format("order %d (%s, until %s)", self.id, tostring(before.status), tostring(before.expires_at)),
    undone = "it was not renewed",
    look = function(w)
      local info, ferr = self:fetch(w)
      return info and renewal_state(info), ferr
    end,
    compare = function(after)
      if after.expires_at ~= before.expires_at or (after.status == "active" and before.status ~= "active") then
        return "done"
      end
      if after.status == before.status then return "unchanged" end
      return "other", format("order %d went from %s to %s meanwhile: something else changed it", self.id,
        tostring(before.status), tostring(after.status))
    end,
    confirmed = function(after)
      return engine.wrap(self, RENEW, { message = format("renewed: confirmed by re-reading the order (%s, until %s)",
        tostring(after.status), tostring(after.expires_at)) }, {})
    end,
    resend = function(w) return engine.send(self, RENEW, {}, w) end,
    resent = function(answer) return engine.wrap(self, RENEW, answer, {}) end,
  }
end

return M
