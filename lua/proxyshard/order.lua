--- An order handle: made by client:order(id) without any request; each
-- method is one API call on that order.
local validate = require "proxyshard.validate"
local shapes = require "proxyshard.shapes"
local json = require "proxyshard.json"
local order_info = require "proxyshard.model.order_info"
local proxy_model = require "proxyshard.model.proxy"

local setmetatable = setmetatable
local format = string.format

local M = {}

local Order = { __name = "proxyshard.order" }
Order.__index = Order

--- Returns the handle, or `nil, err` (invalid_argument) for a bad id.
function M.new(client, id)
  local order_id, err = validate.id(id, "order_id")
  if not order_id then return nil, err end
  return setmetatable({ client = client, id = order_id }, Order)
end

--- The API path of this order, with `suffix` appended.
function Order:path(suffix)
  return format("/user/api/orders/%d%s", self.id, suffix or "")
end

--- GET /user/api/orders/{id}: details, add-on lines and p0f slot use.
function Order:fetch(opts)
  local r, err = self.client:call({ method = "GET", path = self:path(), shape = shapes.order_response }, opts)
  if not r then return nil, err end
  return order_info.new(r.order)
end

--- GET /user/api/proxies/active?order_id=: the order's proxy IPs, each
-- with its credentials, ports and OS signature (nil when none).
-- Returns the list and the order's tag.
function Order:proxies(opts)
  local r, err = self.client:call({
    method = "GET", path = "/user/api/proxies/active", query = { { "order_id", self.id } },
    shape = shapes.active_response,
  }, opts)
  if not r then return nil, err end
  return proxy_model.list(r.data), r.order_tag
end

--- The handle of one add-on of this order (no request is made).
-- Returns `nil, err` for a malformed key.
function Order:addon(key)
  return require("proxyshard.addon").new(self, key)
end

--- POST /user/api/orders/{id}/signature/set. `items` is a list of
-- { ip = "203.0.113.7", signature = "win11" }. Each IP signed for the first
-- time takes one p0f slot for good. Returns the number of IPs updated: the
-- answer's `updated`, or, when the answer leaves it out, the number sent
-- (a success with no count updated them all).
function Order:set_signatures(items, opts)
  local checked, err = validate.signature_items(items)
  if not checked then return nil, err end
  local r
  r, err = self.client:call({
    method = "POST", path = self:path("/signature/set"), mutates = true,
    body = { items = json.array(checked) }, shape = shapes.signature_response,
  }, opts)
  if not r then return nil, err end
  return r.updated or #checked
end

function Order:__tostring()
  return format("proxyshard order %d", self.id)
end

return M
