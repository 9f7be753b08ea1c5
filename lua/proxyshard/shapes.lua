--- The shapes of the API's answers that this library reads, written from
-- the ProxyShard OpenAPI document 1.1.0 (see proxyshard.convert for the
-- notation). The document marks few fields required, so neither do we: a
-- 2xx JSON answer that is not `success: false` is a success, whatever it
-- leaves out. A field is required only where safety needs it (a cap needs
-- the quote's total) or the call has nothing to return without it.
local M = {}

M.addon_line = {
  addon_key = "string",
  catalog_id = "integer",
  qty = "count",
  price_per_unit = "price",
  pending = { object = { action = "string", next_qty = "count" } },
}

-- GET /user/api/orders/{id} → { success, order }
M.order = {
  order_id = "integer",
  product_name = "string",
  cycle_name = "string",
  quantity = "count",
  price_paid = "price",
  addons_price_paid = "price",
  addons = { list = M.addon_line },
  p0f_slots_available = "count",
  p0f_slots_used = "count",
  p0f_slots_next = "count",
  status = "string",
  created_at = "string",
  expires_at = "string",
  promo_code = "string",
  auto_renewal = "boolean",
  tag = "string",
}
M.order_response = {
  success = "boolean",
  order = { object = M.order },
  required = { "order" },          -- the call's whole result
}

-- GET /user/api/orders/{order_id}/addons/calculate
M.quote_response = {
  success = "boolean",
  addon_key = "string",
  catalog_id = "integer",
  price_per_unit = "price",
  current_qty = "count",
  add_qty = "count",
  new_qty = "count",
  add_total = "price",
  -- a cap can only be enforced on a total we were actually told
  required = { "add_total", "add_qty" },
}

-- POST /user/api/orders/{order_id}/addons/purchase
M.purchase_response = {
  success = "boolean",
  message = "string",
  addons_price_paid = "price",
  addons = { list = M.addon_line },
}

-- POST …/addons/schedule and …/addons/schedule/cancel
M.schedule_response = {
  success = "boolean",
  message = "string",
  addons = { list = M.addon_line },
}

-- POST /user/api/orders/{order_id}/signature/set
M.signature_response = {
  success = "boolean",
  message = "string",
  updated = "count",
}

-- GET /user/api/proxies/active?order_id= (credentials are not secrets of
-- ours, but they are the user's: never printed by __tostring)
M.active_response = {
  success = "boolean",
  data = { list = {
    ip = "string", username = "string", password = "string", http_port = "count",
    socks_port = "count", ["until"] = "string", status = "string", signature = "string",
  } },
  order_tag = "string",
  required = { "data" },           -- the call's whole result
}

-- The pieces of the other answers (proxyshard.operations holds the answers
-- themselves).
M.product = { name = "string", description = "string", location = "string", cycles = { list = "string" } }
M.stock = { country = "string", product = "string", amount = "count" }
M.order_summary = {
  order_id = "integer", product_id = "integer", product_name = "string", cycle_id = "integer",
  cycle_name = "string", expires_at = "string", auto_renewal = "boolean", tag = "string",
}
M.active_proxy = M.active_response.data.list
M.sub_user = {
  user_id = "string", first_name = "string", proxy_password = "string",
  data = "count", data_spent = "count", data_remain = "count",
}
M.country = { code = "string", name = "string" }
local region_ref = { object = { code = "string", name = "string" } }
M.region = { code = "string", name = "string", country = { object = M.country } }
M.city = { code = "string", name = "string", country = { object = M.country }, region = region_ref }
M.isp = M.city

-- GET /user/api/me (no success field in the spec)
M.me_response = {
  email = "string",
  active_orders = "count",
  wallet_balance = "money",
}

return M
