--- The `proxyshard` command's exit statuses: one per kind of error
-- (proxyshard.errors.KINDS), so that a script can tell "too expensive"
-- (3: nothing was bought) from "outcome unknown" (4: do not rerun blindly).
-- @module proxyshard.cli.exit

local M = {}

--- The statuses, in order: { code, name, meaning, kinds }.
M.CODES = {
  { 0, "ok", "done" },
  { 1, "internal", "a bug in proxyshard (please report it with the message)", { "phase" } },
  { 2, "usage", "a bad command line or argument (invalid_argument), or --yes missing off a terminal; "
    .. "nothing was sent", { "invalid_argument" } },
  { 3, "budget", "the price is above --max-total (or there is no price to check it against): nothing was "
    .. "bought", { "budget" } },
  { 4, "unknown_outcome", "a purchase or change may or may not have happened: check (e.g. `proxyshard order "
    .. "ID`) before running it again", { "unknown_outcome" } },
  { 5, "auth", "the token is missing or was refused", { "auth" } },
  { 6, "not_found", "no such order or resource", { "not_found" } },
  { 7, "refused", "the API refused the request: not enough balance or slots, an inactive order, a call the "
    .. "order does not have (HTTP 403: the proxy list of a residential order)...",
    { "validation", "forbidden", "api" } },
  { 8, "unavailable", "the API could not be reached or failed (network, tls, timeout, rate_limited, server)",
    { "network", "tls", "timeout", "rate_limited", "server" } },
  { 9, "decode", "the answer was not what the API documents", { "decode" } },
  { 10, "declined", "the purchase was not confirmed at the prompt: nothing was bought", { "declined" } },
  { 11, "locked", "another run is spending for this account (the message names it): nothing was sent; "
    .. "--lock-wait SECONDS waits for it", { "locked" } },
  { 12, "output", "the output could not be written (a full disk, a closed pipe): what the command did is "
    .. "done, only its report is lost" },
  { 13, "stale", "a saved plan no longer fits the account (it changed since the plan was made): nothing was "
    .. "done; make a new plan", { "stale" } },
  { 130, "interrupted", "SIGINT (130) or SIGTERM (143) stopped it outside a spend (inside one: 4, and the "
    .. "journal keeps the spend)", { "interrupted" } },
}

-- The statuses by name ("ok", "usage", ...) and by error kind.
M.OK, M.INTERNAL, M.USAGE, M.DECLINED, M.OUTPUT = 0, 1, 2, 10, 12
M.BY_KIND = {}
M.BY_NAME = {}
for _, c in ipairs(M.CODES) do
  M.BY_NAME[c[2]] = c[1]
  for _, kind in ipairs(c[4] or {}) do M.BY_KIND[kind] = c[1] end
end

--- The status for an error value (or a kind); 1 for anything unknown.
function M.for_error(err)
  local kind = type(err) == "table" and err.kind or err
  return M.BY_KIND[kind] or M.INTERNAL
end

--- The status of several results: unknown_outcome wins (something may
-- have been bought), then the first error's; 0 when there is none.
function M.worst(errs)
  local first
  for _, err in ipairs(errs) do
    if err.kind == "unknown_outcome" then return M.BY_KIND.unknown_outcome end
    first = first or err
  end
  return first and M.for_error(first) or M.OK
end

-- `text` in lines of at most `width` characters.
local function wrap(text, width)
  local lines, line = {}, ""
  for word in text:gmatch("%S+") do
    if line ~= "" and #line + 1 + #word > width then
      lines[#lines + 1] = line
      line = word
    else
      line = line == "" and word or (line .. " " .. word)
    end
  end
  lines[#lines + 1] = line
  return lines
end

--- The table for --help and docs/command.md: one status a line (its meaning
-- wrapped to `width` columns, default 96, under itself).
function M.describe(width)
  width = width or 96
  local out = {}
  for _, c in ipairs(M.CODES) do
    local head = string.format("  %-3d %-16s ", c[1], c[2])
    for i, l in ipairs(wrap(c[3], width - #head)) do
      out[#out + 1] = (i == 1 and head or string.rep(" ", #head)) .. l
    end
  end
  return table.concat(out, "\n")
end

return M
