--- Default data set of the ProxyShard sandbox.
--
-- Plain data, no functions: `proxyshard.sandbox.world.state` deep-copies it on
-- `new` and on `reset`, so nothing here is ever mutated. Everything is fixed
-- (no clock, no randomness) so that specs and users see the same values on
-- every run; `now` is the sandbox's today. A JSON null is written as an
-- absent key. Money is integer cents, traffic integer bytes (1 GB = 2^30).
--
-- Addresses come from the documentation ranges (RFC 5737, RFC 3849), so
-- nothing here can point at a real host.

local GB = 1073741824 -- 2^30 bytes (written out: the specs read this table on LuaJIT too)

-- Proxy endpoint of one IP; credentials are derived from the order so they
-- are unique but predictable (orders bought in the sandbox get theirs the
-- same way, see proxyshard.sandbox.world.order_book).
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

  -- the sandbox's today: orders bought start here, renewals count from it
  now = "2026-11-25T12:00:00Z",
  -- ids of what the sandbox creates
  next_order_id = 20000,
  next_sub_user = 4,

  account = {
    email = "dev@sandbox.proxyshard.test",
    wallet_balance = 10000, -- cents
  },

  -- What is on sale. A cycle's price is per IP (Datacenter, ISP) or per GB
  -- (residential, which has one cycle, "lifetime", that never expires);
  -- `days` is how far a purchase or renewal moves `expires_at`.
  products = {
    { product_id = 1, name = "Datacenter Proxy", description = "Dedicated datacenter IPs, priced per IP",
      locations = { "DE", "US" },
      cycles = {
        { cycle_id = 1, name = "monthly", days = 30, price = 300 },
        { cycle_id = 2, name = "quarterly", days = 90, price = 810 },
      } },
    { product_id = 2, name = "ISP Proxy", description = "Static ISP IPs, priced per IP",
      locations = { "US", "DE" },
      cycles = {
        { cycle_id = 3, name = "monthly", days = 30, price = 400 },
        { cycle_id = 4, name = "quarterly", days = 90, price = 1080 },
      } },
    { product_id = 3, name = "Standart Residential Proxy", description = "Rotating residential traffic, per GB",
      proxy_type = "standart",
      -- not a round price, so a promo's discount has a fraction to drop
      cycles = { { cycle_id = 5, name = "lifetime", price = 145 } } },
    { product_id = 4, name = "Premium Residential Proxy", description = "Premium residential traffic, per GB",
      proxy_type = "premium",
      cycles = { { cycle_id = 6, name = "lifetime", price = 300 } } },
  },

  -- Promo codes: the percent off the base price, on the cycles named.
  promos = {
    SAVE10 = { percent = 10, cycles = { "monthly", "lifetime" } },
  },

  -- Stock of /proxies/available-count; a purchase takes from it.
  stock = {
    { country = "DE", product = "Datacenter Proxy", amount = 500 },
    { country = "US", product = "Datacenter Proxy", amount = 300 },
    { country = "US", product = "ISP Proxy", amount = 40 },
    { country = "DE", product = "ISP Proxy", amount = 8 },
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
    {
      order_id = 12348,
      product_name = "Datacenter Proxy",
      cycle_name = "quarterly",
      status = "cancelled",
      quantity = 3,
      price_paid = 2430,
      addons_price_paid = 0,
      addons = {},
      created_at = "2026-05-02T08:00:00Z",
      expires_at = "2026-07-31T08:00:00Z",
      auto_renewal = false,
      tag = "old-scrapers",
      ips = {},
    },
    -- residential orders: traffic, no IPs; `quantity` is GB bought
    {
      order_id = 12400,
      product_name = "Premium Residential Proxy",
      cycle_name = "lifetime",
      status = "active",
      quantity = 50,
      price_paid = 15000,
      addons_price_paid = 0,
      addons = {},
      created_at = "2026-10-01T10:00:00Z",
      ips = {},
    },
    {
      order_id = 12401,
      product_name = "Standart Residential Proxy",
      cycle_name = "lifetime",
      status = "active",
      quantity = 20,
      price_paid = 2900,
      addons_price_paid = 0,
      addons = {},
      created_at = "2026-10-05T10:00:00Z",
      ips = {},
    },
  },

  -- The residential account, per proxy type: the owner's traffic (what the
  -- orders brought, less what was handed to sub-users) and the sub-users'.
  -- Sub-user ids are unique across both types (DELETE names no type).
  residential = {
    premium = {
      proxy_password = "sbx-premium-owner",
      data = 42 * GB, data_spent = 12 * GB,
      sub_users = {
        { user_id = "u-1", first_name = "team-a", proxy_password = "sbx-sub-u-1",
          data = 5 * GB, data_spent = 1 * GB },
        { user_id = "u-2", first_name = "team-b", proxy_password = "sbx-sub-u-2",
          data = 3 * GB, data_spent = 3 * GB },
      },
    },
    standart = {
      proxy_password = "sbx-standart-owner",
      data = 18 * GB, data_spent = 3 * GB,
      sub_users = {
        { user_id = "u-3", first_name = "crawler", proxy_password = "sbx-sub-u-3",
          data = 2 * GB, data_spent = 0 },
      },
    },
  },

  -- Targeting, the same for both proxy types; ISPs are listed for premium
  -- only (the API's rule), and not for every city.
  locations = {
    { code = "DE", name = "Germany", regions = {
      { code = "BE", name = "Berlin", cities = {
        { code = "berlin", name = "Berlin", isps = {
          { code = "deutsche-telekom", name = "Deutsche Telekom" },
        } },
      } },
    } },
    { code = "US", name = "United States", regions = {
      { code = "CA", name = "California", cities = {
        { code = "los-angeles", name = "Los Angeles", isps = {} },
      } },
    } },
  },
}
