--- Asking before spending: the quote on stderr and a yes/no on the
-- terminal. Off a terminal nothing is asked and nothing is bought unless
-- the command line says `--yes`.
-- @module proxyshard.cli.confirm
local errors = require "proxyshard.errors"
local exit = require "proxyshard.cli.exit"

local M = {}

--- Ask about `what` (the quote, as text). Returns true when the answer is
-- yes; otherwise nil and a failure for ctx:fail (a usage error off a
-- terminal, "declined" on one) and its exit status. `how` words another
-- question than a purchase: { question = "Go on?", refused = "to do it
-- without a terminal...: nothing was sent" }.
function M.ask(ctx, what, how)
  if not ctx.sys.is_tty(0) then
    return nil, errors.invalid("--yes", "is needed " .. (how and how.refused or "to spend money without a "
      .. "terminal to confirm on: nothing was bought (or --dry-run to see the quote)")), exit.USAGE
  end
  ctx:err(what .. "\n" .. (how and how.question or "Buy?") .. " [y/N] ")
  local answer = ctx.sys.read_line()
  if answer and answer:match("^%s*[yY]") then return true end
  if answer == nil then ctx:err("\n") end
  return nil, "declined"
end

return M
