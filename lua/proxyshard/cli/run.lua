--- Running a command made from a row: the handle from the positional
-- arguments (client:order(ID):addon(KEY)...), the call's arguments and
-- options from the rest, the call, and its result printed. A call that
-- spends money goes through the library's one spending flow, whose
-- `confirm` hook is the prompt here: it shows the price, asks on a
-- terminal (or takes `--yes`), and `--dry-run` answers no — so a dry run
-- checks its arguments and prices exactly as the real run does.
-- @module proxyshard.cli.run
local errors = require "proxyshard.errors"
local values = require "proxyshard.cli.values"
local confirm = require "proxyshard.cli.confirm"
local render = require "proxyshard.cli.render"
local exit = require "proxyshard.cli.exit"

local ipairs = ipairs
local next = next
local type = type
local tostring = tostring
local unpack = table.unpack
local pack = table.pack
local format = string.format

local M = {}

-- A bare result as text, by the row's `text`: a format for a number, or
-- { yes, no } for a boolean.
local function bare_text(row, value)
  local how = row and row.text
  if how == nil then return nil end
  if type(how) == "table" then return value and how[1] or how[2] end
  return format(how, value)
end

-- The handle and the call's arguments and options from the parsed command
-- line: handle, method name, argument list, opts; or nil, err.
local function prepare(client, command, args)
  local h, positional = client, {}
  for _, p in ipairs(command.positionals) do
    local v, err = values.convert(p.convert, args[p.name], p.name)
    if v == nil and err then return nil, err end
    if p.maker then
      h = h[p.maker](h, v)
    else
      positional[#positional + 1] = v
    end
  end
  local params, opts = {}, {}
  for _, o in ipairs(command.options) do
    local raw = args[o.name]
    if raw ~= nil and o.into ~= "command" then
      local v, err = values.convert(o.convert, raw, o.name)
      if v == nil and err then return nil, err end
      if o.into == "params" then params[o.name] = v else opts[o.name] = v end
    end
  end
  local row = command.row
  local method, call_args = row.name, row.args == "table" and { params } or positional
  if command.all and args.all then
    method = command.all.method
    if command.all.params then
      call_args = { params }
    else
      if next(params) then
        return nil, errors.invalid("--all", "reads every page: it takes no --offset or --limit")
      end
      call_args = {}
    end
  end
  return h, method, call_args, opts
end

local function call(h, method, call_args, opts)
  local n = #call_args
  local packed = { unpack(call_args, 1, n) }
  packed[n + 1] = next(opts) and opts or nil
  return pack(h[method](h, unpack(packed, 1, n + 1)))
end

-- A call that spends: the flow's confirm hook shows the price, and asks
-- (or takes --yes; --dry-run declines, after the same checks and price).
local function spend(ctx, command, h, method, call_args, opts)
  -- a dry run only reads: no lock, no journal
  if ctx.command_args.dry_run then return M.spend(ctx, command, h, method, call_args, opts) end
  opts.journal = true -- each spend on disk before it is sent
  return ctx:spending_run(h.client or h, M.spend, ctx, command, h, method, call_args, opts)
end

--- The spend itself, under the run's lock.
function M.spend(ctx, command, h, method, call_args, opts)
  local args = ctx.command_args
  local shown, refusal
  opts.confirm = function(price)
    shown = price
    if args.dry_run then return false end
    if args.yes then return true end
    local ok, err, code = confirm.ask(ctx, price.text)
    if not ok then refusal = { err = err, code = code } end
    return ok
  end
  local results = call(h, method, call_args, opts)
  local err = results[1] == nil and results[2]
  if err and err.kind == "declined" then
    if args.dry_run then
      return ctx:result(command.name, { price = shown.total, estimated = shown.estimate or nil, quote = shown.quote,
        text = shown.text }, "dry run, nothing bought: " .. shown.text, { dry_run = true })
    end
    if refusal and refusal.err ~= "declined" then return ctx:fail(refusal.err, refusal.code) end
    return ctx:refuse("declined", "not confirmed: nothing was bought", exit.DECLINED)
  end
  return M.finish(ctx, command, results)
end

--- Print a call's packed results (value, extra... or nil, err).
function M.finish(ctx, command, results)
  local value = results[1]
  if value == nil then
    local err = results[2] or errors.new("api", "the call returned nothing")
    return ctx:fail(err)
  end
  local fields, lines = {}, {}
  for i, name in ipairs(command.row and command.row.also or {}) do
    local extra = results[i + 1]
    if extra ~= nil then
      fields[name] = extra
      lines[#lines + 1] = format("%s: %s", (name:gsub("_", " ")), tostring(extra))
    end
  end
  local text = bare_text(command.row, value) or ctx:text(value)
  if #lines > 0 then text = ctx:with_note(text, table.concat(lines, "\n")) end
  return ctx:result(command.name, value, text, fields)
end

--- Run a row's command with its parsed arguments; the exit status.
function M.run(ctx, command, args)
  ctx.command_args = args
  local client, err = ctx:client(command.row.auth, true)
  if not client then return ctx:fail(err) end
  local h, method, call_args, opts = prepare(client, command, args)
  if not h then return ctx:fail(method) end
  if h.error then return ctx:fail(h.error) end
  -- a bad argument is said before a missing token
  if ctx.missing_token then return ctx:fail(ctx.missing_token) end
  if command.spends then return spend(ctx, command, h, method, call_args, opts) end
  if command.asks and not args.yes then
    -- checked first, so a bad argument is refused before the question
    local ok, refusal, code = confirm.ask(ctx, format("%s: %s", tostring(h), command.summary), {
      question = "Go on?", refused = "to do it without a terminal to confirm on: nothing was sent" })
    if not ok then
      if refusal == "declined" then return ctx:refuse("declined", "not confirmed: nothing was sent", exit.DECLINED) end
      return ctx:fail(refusal, code)
    end
  end
  local results = call(h, method, call_args, opts)
  if command.all and args.all and results[1] ~= nil then
    -- every page in the shape of one page: --all never changes the JSON
    local list = results[1]
    results[1] = setmetatable({ [command.all.field] = list, count = #list },
      { __tostring = function() return render.text(list) end, __list = list }) -- shown as the list (render.text)
  end
  return M.finish(ctx, command, results)
end

return M
