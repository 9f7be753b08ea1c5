--- Default data set of the ProxyShard sandbox.
--
-- Plain data, no functions: `proxyshard.sandbox.state` deep-copies it on
-- `new` and on `reset`, so nothing here is ever mutated. Everything is fixed
-- (no clock, no randomness) so that specs and users see the same values on
-- every run. A JSON null is written as an absent key.
--
-- Addresses come from the documentation ranges (RFC 5737, RFC 3849), so
-- nothing here can point at a real host.

-- Proxy endpoint of one IP; credentials are derived from the order so they
-- are unique but predictable.
local function ip(order_id, n, address, signature)
  return {
    ip = address,
    username = "sbx" .. order_id,
    password = "sandbox-pass-" .. order_id .. "-" .. n,
    http_port = 8000 + n,
    socks_port = 9000 + n,
    signature = signature,
  }
end

return {
  token = "sandbox-token",

  account = {
    email = "dev@sandbox.proxyshard.test",
    wallet_balance = 10000, -- cents
  },

  -- Add-on catalog: one entry per key; the unit price depends on the product
  -- (the pricing pages say +$0.3 per IP on datacenter, +$0.6 on ISP).
  catalog = {
    p0f_slots = {
      catalog_id = 1,
      price_per_unit = { ["Datacenter Proxy"] = 30, ["ISP Proxy"] = 60 },
    },
  },

  orders = {
    {
      order_id = 12345,
      product_name = "Datacenter Proxy",
      cycle_name = "monthly",
      status = "active",
      quantity = 5,
      price_paid = 1500,
      addons_price_paid = 90,
      addons = {
        { addon_key = "p0f_slots", catalog_id = 1, qty = 3, price_per_unit = 30 },
      },
      created_at = "2026-11-01T09:00:00Z",
      expires_at = "2026-12-01T09:00:00Z",
      auto_renewal = true,
      tag = "sandbox",
      ips = {
        ip(12345, 1, "203.0.113.10", "linux"),
        ip(12345, 2, "203.0.113.11"),
        ip(12345, 3, "203.0.113.12"),
        ip(12345, 4, "203.0.113.13"),
        ip(12345, 5, "203.0.113.14"),
      },
    },
    {
      order_id = 12346,
      product_name = "ISP Proxy",
      cycle_name = "monthly",
      status = "on-hold",
      quantity = 2,
      price_paid = 800,
      addons_price_paid = 60,
      addons = {
        { addon_key = "p0f_slots", catalog_id = 1, qty = 1, price_per_unit = 60 },
      },
      created_at = "2026-09-15T12:30:00Z",
      expires_at = "2026-10-15T12:30:00Z",
      auto_renewal = false,
      ips = {
        ip(12346, 1, "2001:db8::10"),
        ip(12346, 2, "2001:db8::11"),
      },
    },
    {
      order_id = 12347,
      product_name = "Datacenter Proxy",
      cycle_name = "monthly",
      status = "active",
      quantity = 2,
      price_paid = 600,
      addons_price_paid = 0,
      addons = {},
      created_at = "2026-11-20T18:00:00Z",
      expires_at = "2026-12-20T18:00:00Z",
      auto_renewal = false,
      ips = {
        ip(12347, 1, "198.51.100.20"),
        ip(12347, 2, "198.51.100.21"),
      },
    },
  },
}
