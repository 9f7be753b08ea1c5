-- The desired state of a proxy account, for `proxyshard plan` and
-- `proxyshard apply` (docs/desired-state.md has every key).
--
--   proxyshard plan examples/desired-state.lua            # exit 2: changes
--   proxyshard apply examples/desired-state.lua --max-total 15.00 --yes
--   proxyshard plan examples/desired-state.lua            # exit 0: as desired
--
-- A data-only Lua file: it is loaded with no globals and no string
-- methods, and may only return this table (a typo in a key is refused with
-- the closest name). Against the sandbox (`proxyshard-sandbox`, token
-- sandbox-token) it plans two spends (a p0f slot, a renewal) and free
-- changes (a signature, a tag, auto-renewal, a sub-user).
return {
  orders = {
    -- the scraping fleet's order: 2 free p0f slots kept in reserve, one
    -- IP signed as Windows 11 (a first signature takes a slot)
    { order = 12345, min_free_p0f = 2, signatures = { ["203.0.113.11"] = "win11" }, tag = "scrapers" },
    -- an ISP order on hold: renewed once its date is within 3 days (or
    -- past), and renewing itself from then on
    { order = 12346, renew_within_days = 3, auto_renewal = true },
    -- every order tagged "sandbox" (12345 once the tag above is set: none
    -- today): Linux signatures on all its IPs
    -- { tagged = "sandbox", signature = "linux" },
  },
  residential = {
    -- the premium account's sub-users: each exists, with at least this
    -- much traffic left (topped up from the owner's)
    premium = {
      sub_users = {
        { name = "team-a", min_remaining_gb = 5 },
        { name = "reports", min_remaining_gb = 2 },
      },
    },
  },
}
