--- Buying a new order (client:purchase_order): a flow on top of the
-- purchase_order row — a cap checked against a fresh price calculation,
-- and reconciliation through the order list.
local errors = require "proxyshard.errors"
local engine = require "proxyshard.engine"
local operations = require "proxyshard.operations"
local reconcile = require "proxyshard.flows.reconcile"
local order_receipt = require "proxyshard.model.order_receipt"

local ipairs = ipairs
local pairs = pairs
local tostring = tostring
local format = string.format

local M = {}

local PURCHASE = operations.find("client", "purchase_order")
local OPTIONS = engine.flow_options(PURCHASE)

-- the purchase's parameters that the price calculation takes too
local QUOTED = { "product", "location", "cycle", "quantity", "promo_code", "addons" }

local function capped_quote(client, params, cap, call)
  local q = {}
  for _, name in ipairs(QUOTED) do q[name] = params[name] end
  local quote, err = client:quote_order(q, call)
  if not quote then return nil, err end
  if quote.total == nil then
    return nil, errors.new("decode", "the price calculation gave no total (total_with_addons), so max_total "
      .. "cannot be checked: nothing was bought", { method = "GET", path = "/user/api/orders/calculate" })
  end
  if quote.total > cap then
    return nil, errors.new("budget", format("%s costs %s, above max_total %s: nothing was bought",
      tostring(params.product), tostring(quote.total), tostring(cap)), { quote = quote, max_total = cap })
  end
  return quote
end

-- The ids of every order (any status), as a set.
local function order_ids(client, call)
  local all, err = client:all_orders({ status = "all" }, call)
  if not all then return nil, err end
  local ids = {}
  for _, o in ipairs(all) do ids[o.order_id] = o end
  return ids
end

--- client:purchase_order(params [, opts]): see the row's summary.
-- opts.max_total: quote first (GET /orders/calculate) and buy only when
--   the total is at most the cap; `budget` otherwise, nothing bought.
-- opts.reconcile: list the orders before buying; after an unknown outcome
--   list them again: exactly one new order of the product → bought.
function M.purchase(client, params, opts)
  local call, err = client:begin(opts, OPTIONS)
  if not call then return nil, err end
  local o = call.opts
  local checked
  checked, err = reconcile.purchase_options(o)
  if not checked then return nil, err end
  local cap, settle = checked.cap, checked.settle
  -- bad input sends nothing: not even the quote
  local req, values = engine.request(PURCHASE, {}, { params }, nil)
  if not req then return nil, values end

  local quote
  if cap then
    quote, err = capped_quote(client, params, cap, call)
    if not quote then return nil, err end
  end
  local before
  if o.reconcile then
    before, err = order_ids(client, call)
    if not before then return nil, err end
  end
  local r
  r, err = engine.send(client, PURCHASE, { params }, call)
  if r then return order_receipt.new(r, client, values.product, quote) end
  if err.kind ~= "unknown_outcome" or not before then return nil, err end

  local new_id
  return reconcile.run {
    client = client, window = client:extend(call, settle), err = err, undone = "nothing was bought",
    what = "the order list", look = function(w) return order_ids(client, w) end,
    compare = function(after)
      local new = {}
      for id, summary in pairs(after) do
        if not before[id] then new[#new + 1] = summary end
      end
      if #new == 0 then return "unchanged" end
      if #new == 1 and new[1].product_name == values.product then
        new_id = new[1].order_id
        return "done"
      end
      return "other", format("%d new orders appeared meanwhile, not one %s: something else bought too", #new,
        tostring(values.product)), { new_orders = new }
    end,
    confirmed = function()
      return order_receipt.new({ order_id = new_id, message = "bought: confirmed by the order list" }, client,
        values.product, quote)
    end,
    resend = function(w)
      if cap then
        local again
        quote, again = capped_quote(client, params, cap, w)
        if not quote then
          again.bought, again.reconciled = false, true
          return nil, again
        end
      end
      return engine.send(client, PURCHASE, { params }, w)
    end,
    resent = function(answer) return order_receipt.new(answer, client, values.product, quote) end,
  }
end

return M
