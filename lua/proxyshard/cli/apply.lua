--- `proxyshard apply FILE|PLANFILE --max-total DOLLARS`: make a desired
-- state true, once (proxyshard.desired.apply), under the account's lock:
--
-- 1. the lock, and the journal's unsettled spends settled first (a run
--    killed mid-spend is found out before anything is bought again);
-- 2. the plan: made now from FILE, or read from PLANFILE (`proxyshard plan
--    --out`); printed, then confirmed on a terminal (or --yes; --dry-run
--    stops here, as `proxyshard plan` would);
-- 3. plan:apply re-reads: a plan whose state changed is refused (stale,
--    exit 13), a price that rose above its line or what is left of
--    --max-total is refused, and the rest is done in order, each spend
--    journaled before it is sent;
-- 4. the report: what was done, what was not, what is unknown; the exit
--    status of the worst failure (4 when a spend's outcome is unknown).
-- @module proxyshard.cli.apply
local errors = require "proxyshard.errors"
local validate = require "proxyshard.check.validate"
local settings = require "proxyshard.check.settings"
local values = require "proxyshard.cli.values"
local confirm = require "proxyshard.cli.confirm"
local exit = require "proxyshard.cli.exit"
local plan_command = require "proxyshard.cli.plan"
local order_set = require "proxyshard.cli.order_set"

local format = string.format

local M = {}

M.command = {
  name = "apply",
  summary = "make a desired-state file (or a saved plan) true, once, under one --max-total",
  usage = "proxyshard apply FILE|PLANFILE [--max-total DOLLARS] [--reconcile] [--settle SECONDS] "
    .. "[--concurrency N] [--yes] [--dry-run]",
}

function M.command.configure(cmd, helpers)
  cmd:argument("file", "the desired-state file, or a plan saved by `proxyshard plan --out`"):argname("FILE|PLANFILE")
    :target("file")
  cmd:option("--max-total", 'the most the whole apply may spend, in dollars ("25.00", or "25"); needed when it '
    .. "spends"):argname("DOLLARS"):target("max_total")
  cmd:flag("--reconcile", "when a spend's answer is lost, re-read to find out (instead of stopping with exit 4)")
    :target("reconcile")
  cmd:option("--settle", "how long --reconcile re-reads (default 10)"):argname("SECONDS"):target("settle")
  cmd:option("--concurrency", format("reads at once (default %d)", order_set.DEFAULT_CONCURRENCY))
    :argname("N"):target("concurrency")
  helpers.spending(cmd)
  cmd:epilog("A saved plan is refused (exit 13) once the account changed since it was made. Run again after a "
    .. "failure, apply converges: it re-reads and buys only what is still missing. The library calls: "
    .. "proxyshard.plan(client, FILE), plan:apply{ max_total = ... }.")
end

-- Is the file at `path` a saved plan (rather than a desired state)? Its
-- keys are written sorted, so the format may come after a long list of
-- actions: the whole file is looked at (a desired state is refused above
-- 1 MiB anyway).
local function is_saved_plan(path)
  local f = io.open(path, "rb")
  if not f then return false end
  local text = f:read(4 * 1048576) or ""
  f:close()
  return text:find('"format":"proxyshard-plan"', 1, true) ~= nil
end

-- The plan, under the lock: the saved one, or one made now.
local function the_plan(ctx, client, args)
  if is_saved_plan(args.file) then
    local concurrency, err = order_set.concurrency(args.concurrency)
    if not concurrency then return nil, err end
    return require("proxyshard.desired.plan").load(client, args.file, { concurrency = concurrency,
      now = ctx.sys.now() })
  end
  return plan_command.make(ctx, client, args)
end

-- Under the lock: plan, show, confirm, apply, report.
local function run(ctx, client, args, cap)
  local plan, err = the_plan(ctx, client, args)
  if not plan then return ctx:fail(err) end
  -- a saved plan that no longer fits is refused before it is shown
  if plan.saved then
    local ok
    ok, err = plan:check()
    if not ok then return ctx:fail(err) end
  end
  if plan:changes() == 0 then
    return ctx:result("apply", { plan = plan:to_json() }, tostring(plan))
  end
  if plan:spends() > 0 and not cap then
    return ctx:fail(errors.invalid("--max-total", format("is needed: the plan spends %s over %d action%s",
      plan:total_text(), plan:spends(), plan:spends() == 1 and "" or "s")))
  end
  if not ctx.json then ctx:out(tostring(plan) .. "\n") end
  if not args.yes then
    local ok, why, code = confirm.ask(ctx, format("apply these %d actions%s?", plan:changes(),
      cap and (", spending at most " .. tostring(cap)) or ""), { question = "Apply?",
      refused = "to apply without a terminal to confirm on: nothing was done (or --dry-run to see the plan)" })
    if not ok then
      if why == "declined" then return ctx:refuse("declined", "not confirmed: nothing was done", exit.DECLINED) end
      return ctx:fail(why, code)
    end
  end
  local report
  report, err = plan:apply { max_total = cap, reconcile = args.reconcile or nil, settle = args.settle_seconds,
    command = "proxyshard apply" }
  if not report then return ctx:fail(err) end
  local doc = { plan = plan:to_json(), report = report:to_json() }
  if report.ok then return ctx:result("apply", doc, tostring(report)) end
  return require("proxyshard.cli.batch").finish(ctx, "apply", doc, tostring(report), report.errors)
end

function M.command.run(ctx, args)
  local cap, err
  if args.max_total then
    cap, err = validate.amount(values.dollars(args.max_total), "max_total")
    if not cap then return ctx:fail(err) end
  end
  if args.settle then
    if not args.reconcile then return ctx:fail(errors.invalid("--settle", "applies only with --reconcile")) end
    args.settle_seconds, err = settings.seconds(values.number(args.settle), "--settle")
    if not args.settle_seconds then return ctx:fail(err) end
  end
  local client
  client, err = ctx:client()
  if not client then return ctx:fail(err) end
  if args.dry_run then
    -- = plan: nothing is locked, nothing changed
    local plan
    plan, err = the_plan(ctx, client, args)
    if not plan then return ctx:fail(err) end
    -- dry_run at the top, as every spending command's --dry-run has it
    return ctx:result("apply", { plan = plan:to_json() }, tostring(plan) .. "\ndry run: nothing was done",
      { dry_run = true })
  end
  return ctx:spending_run(client, run, ctx, client, args, cap)
end

return M
