--- `proxyshard plan FILE [--out PLANFILE]`: what it takes to make the
-- desired state in FILE true (proxyshard.desired.plan): the drift since
-- the last apply, then the actions in order with their exact prices (an
-- estimate where the API quotes none, marked) and the total. Nothing is
-- changed. The exit status is Terraform's `plan -detailed-exitcode`: 0 no
-- changes, 2 changes, 1 an error (of any kind: the message and --json's
-- `error.kind` say which). --out saves the plan with the digest of the
-- state it was made from, for `proxyshard apply PLANFILE`.
-- @module proxyshard.cli.plan
local order_set = require "proxyshard.cli.order_set"

local format = string.format

local M = {}

--- The exit statuses of plan (Terraform's -detailed-exitcode).
M.NO_CHANGES, M.FAILED, M.CHANGES = 0, 1, 2

M.command = {
  name = "plan",
  summary = "what makes a desired-state file true: drift, the actions in order, their exact cost (exit 2: changes)",
  usage = "proxyshard plan FILE [--out PLANFILE] [--concurrency N]",
  failure_exit = M.FAILED, -- also for a command line argparse refuses
}

function M.command.configure(cmd)
  cmd:argument("file", "the desired-state file: data-only Lua (desired-state.lua) or JSON"):argname("FILE")
    :target("file")
  cmd:option("--out", "save the plan, with a digest of the state it was made from, for `proxyshard apply PLANFILE`")
    :argname("PLANFILE"):target("out")
  cmd:option("--concurrency", format("reads at once (default %d)", order_set.DEFAULT_CONCURRENCY))
    :argname("N"):target("concurrency")
  cmd:epilog("Exit status: 0 no changes, 2 changes, 1 an error. The file's keys: docs/desired-state.md. "
    .. "The library call: proxyshard.plan(client, FILE).")
end

--- The plan of `args.file` (or nil, err): the command's and apply's.
function M.make(ctx, client, args)
  local concurrency, err = order_set.concurrency(args.concurrency)
  if not concurrency then return nil, err end
  return require("proxyshard.desired.plan").make(client, args.file, { concurrency = concurrency,
    now = ctx.sys.now() })
end

function M.command.run(ctx, args)
  local client, err = ctx:client()
  if not client then return ctx:fail(err, M.FAILED) end
  local plan
  plan, err = M.make(ctx, client, args)
  if not plan then return ctx:fail(err, M.FAILED) end
  local text = tostring(plan)
  if args.out then
    local ok
    ok, err = plan:save(args.out)
    if not ok then return ctx:fail(err, M.FAILED) end
    text = text .. format("\nsaved the plan to %s: `proxyshard apply %s%s` carries it out while the account "
      .. "stays as it is", args.out, args.out, plan:spends() > 0 and " --max-total DOLLARS" or "")
  end
  local code = ctx:result("plan", plan:to_json(), text)
  if code ~= 0 then return M.FAILED end
  return plan:changes() > 0 and M.CHANGES or M.NO_CHANGES
end

return M
