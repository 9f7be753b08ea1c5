--- A progress bar on stderr for work over many orders: drawn only when
-- stderr is a terminal and the output is not --json; otherwise every
-- call does nothing.
-- @module proxyshard.cli.progress
local format = string.format
local rep = string.rep
local floor = math.floor

local M = {}

M.WIDTH = 30

local Bar = {}
Bar.__index = Bar

--- A bar for `total` steps, written with `write` (nil: a bar that draws
-- nothing).
function M.new(write, total, label)
  return setmetatable({ write = write, total = total, done = 0, label = label or "" }, Bar)
end

--- The bar for a command run: drawn on ctx's stderr when it is a terminal
-- and the output is text.
function M.for_run(ctx, total, label)
  local enabled = not ctx.json and ctx.sys.is_tty(2)
  return M.new(enabled and function(text) ctx:err(text) end or nil, total, label)
end

function Bar:draw(note)
  if not self.write then return end
  local filled = self.total > 0 and floor(M.WIDTH * self.done / self.total) or M.WIDTH
  self.write(format("\r%s [%s%s] %d/%d %s\27[K", self.label, rep("#", filled), rep(".", M.WIDTH - filled),
    self.done, self.total, note or ""))
end

--- A new stage: another label and total, the count back at 0.
function Bar:stage(label, total)
  self.label, self.total, self.done = label, total, 0
  self:draw()
end

--- One more step done; `note` says which.
function Bar:step(note)
  self.done = self.done + 1
  self:draw(note)
end

--- Clear the bar's line.
function Bar:finish()
  if self.write then self.write("\r\27[K") end
end

return M
