--- The pieces that the answers of several operations share (each row of
-- proxyshard.operations holds its whole answer), written from the
-- ProxyShard OpenAPI document 1.1.0. The notation of a shape:
--   "integer"  an exact integer, of either sign: the API document bounds
--              none of its answers' integers (over-used traffic makes
--              data_remain negative), so neither do we
--   "money"    a money value (from cents)  "price"   a money value >= 0
--              (a deliberate deviation: the document does not bound prices
--              either, but a negative total would slip under any cap)
--   "string"   "boolean"
--   { list = shape }    an array of objects of that shape (or of scalars:
--                       { list = "string" })
--   { object = shape }  a nested object
-- and `required = { ... }` lists the fields that must be present; a top
-- shape whose one key is `list` is an answer that is a bare array. Fields
-- not in the shape are left out; absent optional fields stay nil. The
-- answers are read by these shapes, compiled once, straight from their
-- bytes in C (proxyshard.core.decode, csrc/answer.c; its rules: the
-- header there): an amount from its digits, never through a double.
--
-- The document marks few fields required, so neither do we: a
-- 2xx JSON answer that is not `success: false` is a success, whatever it
-- leaves out. A field is required only where safety needs it (a cap needs
-- the quote's total) or the call has nothing to return without it.
local M = {}

--- One add-on line of an order.
M.addon_line = {
  addon_key = "string",
  catalog_id = "integer",
  qty = "integer",
  price_per_unit = "price",
  pending = { object = { action = "string", next_qty = "integer" } },
}

--- The order of GET /user/api/orders/{id}.
M.order = {
  order_id = "integer",
  product_name = "string",
  cycle_name = "string",
  quantity = "integer",
  price_paid = "price",
  addons_price_paid = "price",
  addons = { list = M.addon_line },
  p0f_slots_available = "integer",
  p0f_slots_used = "integer",
  p0f_slots_next = "integer",
  status = "string",
  created_at = "string",
  expires_at = "string",
  promo_code = "string",
  auto_renewal = "boolean",
  tag = "string",
}
-- The pieces of the other answers (proxyshard.operations holds the answers
-- themselves).
M.product = { name = "string", description = "string", location = "string", cycles = { list = "string" } }
M.stock = { country = "string", product = "string", amount = "integer" }
M.order_summary = {
  order_id = "integer", product_id = "integer", product_name = "string", cycle_id = "integer",
  cycle_name = "string", expires_at = "string", auto_renewal = "boolean", tag = "string",
}
-- credentials are not secrets of ours, but they are the user's: never
-- printed by __tostring
M.active_proxy = {
  ip = "string", username = "string", password = "string", http_port = "integer",
  socks_port = "integer", ["until"] = "string", status = "string", signature = "string",
}
-- a sub-user as the list shows it; as creating one answers (no
-- data_remain); as reading one answers (no user_id either: 1.1.0 dropped it)
M.sub_user = {
  user_id = "string", first_name = "string", proxy_password = "string",
  data = "integer", data_spent = "integer", data_remain = "integer",
}
M.sub_user_created = {
  user_id = "string", first_name = "string", proxy_password = "string", data = "integer", data_spent = "integer",
}
M.sub_user_detail = { first_name = "string", proxy_password = "string", data = "integer", data_spent = "integer" }
M.country = { code = "string", name = "string" }
local region_ref = { object = { code = "string", name = "string" } }
M.region = { code = "string", name = "string", country = { object = M.country } }
M.city = { code = "string", name = "string", country = { object = M.country }, region = region_ref }
M.isp = M.city

return M
