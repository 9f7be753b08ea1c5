--- `proxyshard pending [--settle]`: the journal's spends whose end is not
-- known (a run that died between sending and reading the answer, an
-- interrupt, an unknown outcome), and with --settle, how they ended, found
-- by re-reading the account (never by resending): client:pending(),
-- client:settle() (proxyshard.flows.settle).
-- @module proxyshard.cli.pending
local base = require "proxyshard.model.base"

local ipairs = ipairs
local tostring = tostring
local format = string.format

local M = {}

M.COLUMNS = { "id", "at", "operation", "what", "price", "state", "note" }

-- "addon=p0f_slots order=12345"
local function what(e)
  return require("proxyshard.flows.spend").bound_text(e.bound)
end

local function row(e, how, note)
  local money = require "proxyshard.money"
  return { id = e.id, at = e.at, operation = e.operation, what = what(e),
    price = e.price_cents and money.cents(e.price_cents) or nil, state = how or e.state, note = note or e.note }
end

--- The lines of the journal that could not be read, for stderr.
function M.report_bad(ctx, bad)
  for _, b in ipairs(bad or {}) do
    ctx:err(format("proxyshard: the journal's line %d cannot be read (torn by a crash?), skipped: %s\n", b.line,
      b.text))
  end
end

--- Settle the journal before a spending run, and say what was found on
-- stderr: nil, or the error that stops the run.
function M.settle_first(ctx, client)
  local report, bad = client:settle()
  if not report then return bad end
  M.report_bad(ctx, bad)
  for _, r in ipairs(report) do
    ctx:err(format("proxyshard: an earlier spend (%s %s, sent %s): %s%s\n", r.entry.operation, what(r.entry),
      tostring(r.entry.at), r.note, r.charged and (", charged " .. tostring(r.charged)) or ""))
  end
end

--- The command (see proxyshard.cli.commands).
M.command = {
  name = "pending",
  summary = "the journal's spends whose end is not known; --settle finds out by re-reading (never resending)",
  usage = "proxyshard pending [--settle]",
}

function M.command.configure(cmd)
  cmd:flag("--settle", "Find out how each ended, from the account (never by sending it again).")
    :target("settle")
  cmd:epilog("The journal is in the state directory (--state-dir, $PROXYSHARD_STATE_DIR, $XDG_STATE_HOME/"
    .. "proxyshard or ~/.local/state/proxyshard). The library calls: client:pending(), client:settle().")
end

function M.command.run(ctx, args)
  local client, err = ctx:client()
  if not client then return ctx:fail(err) end
  local opts = {}
  local rows, doc = {}, {}
  if args.settle then
    -- under the run's lock: an entry of a run still going is not settled
    -- from under it
    local report, bad = require("proxyshard.jobs.lock").held(client, { wait = client.jobs.lock_wait,
      command = "proxyshard pending --settle" }, client.settle, client, opts)
    if not report then return ctx:fail(bad) end
    M.report_bad(ctx, bad)
    for i, r in ipairs(report) do
      rows[i] = row(r.entry, r.state, r.note)
      doc[i] = { entry = r.entry, state = r.state, charged = r.charged, note = r.note }
    end
    local unknown = 0
    for _, r in ipairs(report) do if r.state == "unknown" then unknown = unknown + 1 end end
    local text = ctx:with_note(ctx:table(rows, M.COLUMNS, ""), format("%d settled, %d still unknown",
      #report - unknown, unknown))
    -- a list in --json even when empty ([], not {}); spends still unknown
    -- are a failure (exit 4) with the report, not ok = true
    local failures = {}
    if unknown > 0 then
      failures[1] = require("proxyshard.errors").new("unknown_outcome", format("%d spends are still unknown: run "
        .. "`proxyshard pending --settle` again later, or look at the account", unknown))
    end
    return require("proxyshard.cli.batch").finish(ctx, "pending", base.list(nil, doc), text, failures)
  end
  local list, bad = client:pending(opts)
  if not list then return ctx:fail(bad) end
  M.report_bad(ctx, bad)
  -- the items as --settle has them, less what only settling tells
  for i, e in ipairs(list) do
    rows[i] = row(e)
    doc[i] = { entry = e, state = e.state, note = e.note }
  end
  return ctx:result("pending", base.list(nil, doc), ctx:table(rows, M.COLUMNS, "nothing pending"))
end

return M
