--- Running a command made from a row: the handle from the positional
-- arguments (client:order(ID):addon(KEY)...), the call's arguments and
-- options from the rest, the call, and its result printed. A call that
-- spends money is quoted first; it is confirmed on a terminal (or by
-- `--yes`), and `--dry-run` stops after the quote.
-- @module proxyshard.cli.run
local errors = require "proxyshard.errors"
local validate = require "proxyshard.check.validate"
local values = require "proxyshard.cli.values"
local confirm = require "proxyshard.cli.confirm"
local render = require "proxyshard.cli.render"
local exit = require "proxyshard.cli.exit"

local ipairs = ipairs
local pairs = pairs
local next = next
local tostring = tostring
local unpack = table.unpack
local pack = table.pack
local format = string.format

local M = {}

--- The names of a result's extra values, by command key (proxies returns
-- the list and the order's tag).
M.EXTRA_VALUES = {
  ["order.proxies"] = { "order_tag" },
}

--- Text for results that are a bare value, by command key.
M.TEXTS = {
  ["order.set_signatures"] = function(n) return format("%s IPs updated", tostring(n)) end,
  ["client.health"] = function(up) return up and "up" or "down" end,
  ["client.live"] = function(up) return up and "alive" or "not alive" end,
}

--- What is shown before a call that spends: by command key, a function
-- (handle, call arguments) → { text, total (money or nil), data }, or nil,
-- err. A spending row with none is confirmed without a price.
M.PREVIEWS = {
  ["addon.purchase"] = function(addon, args)
    local quote, err = addon:quote(args[1])
    if not quote then return nil, err end
    return { text = tostring(quote), total = quote.total, data = quote }
  end,
  ["client.purchase_order"] = function(client, args)
    local params = {}
    for k, v in pairs(args[1] or {}) do
      if k ~= "auto_renewal" then params[k] = v end -- the one field the price calculation does not take
    end
    local quote, err = client:quote_order(params)
    if not quote then return nil, err end
    return { text = tostring(quote), total = quote.total, data = quote }
  end,
  ["order.renew"] = function(order)
    local info, err = order:fetch()
    if not info then return nil, err end
    return { text = format("renew %s; last paid %s (the API quotes no price for a renewal)", tostring(info),
      tostring(info.price_paid or "?")), data = info }
  end,
}

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
    if raw ~= nil then
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

-- A call that spends: preview, cap, dry run, confirmation, then the call.
local function spend(ctx, command, h, method, call_args, opts)
  local args = ctx.command_args
  local make = M.PREVIEWS[command.key]
  local preview
  if make and (args.dry_run or not args.yes) then
    local err
    preview, err = make(h, call_args)
    if not preview then return ctx:fail(err) end
  end
  local cap
  if opts.max_total ~= nil then
    local err
    cap, err = validate.amount(opts.max_total, "max_total")
    if not cap then return ctx:fail(err) end
  end
  if preview and preview.total and cap and preview.total > cap then
    return ctx:fail(errors.new("budget", format("%s: above --max-total %s, nothing was bought", preview.text,
      tostring(cap)), { quote = preview.data, max_total = cap }))
  end
  local text = preview and preview.text
    or format("%s: %s (the API gives no price beforehand)", command.name, command.summary)
  if args.dry_run then
    return ctx:result(command.name, preview and preview.data, "dry run, nothing bought: " .. text,
      { dry_run = true })
  end
  if not args.yes then
    local ok, err, code = confirm.ask(ctx, text)
    if not ok then
      if err == "declined" then return ctx:refuse("declined", "not confirmed: nothing was bought", exit.DECLINED) end
      return ctx:fail(err, code)
    end
    -- what was confirmed is the most it spends, when the call takes a cap
    if preview and preview.total and command.flow then
      for _, name in ipairs(command.flow) do
        if name == "max_total" then opts.max_total = cap and cap < preview.total and cap or preview.total end
      end
    end
  end
  return M.finish(ctx, command, call(h, method, call_args, opts))
end

--- Print a call's packed results (value, extra... or nil, err).
function M.finish(ctx, command, results)
  local value = results[1]
  if value == nil then
    local err = results[2] or errors.new("api", "the call returned nothing")
    return ctx:fail(err)
  end
  local fields, lines = {}, {}
  for i, name in ipairs(M.EXTRA_VALUES[command.key] or {}) do
    local extra = results[i + 1]
    if extra ~= nil then
      fields[name] = extra
      lines[#lines + 1] = format("%s: %s", (name:gsub("_", " ")), tostring(extra))
    end
  end
  local text = M.TEXTS[command.key] and M.TEXTS[command.key](value) or render.text(value)
  if #lines > 0 then text = text .. "\n" .. table.concat(lines, "\n") end
  return ctx:result(command.name, value, text, fields)
end

--- Run a row's command with its parsed arguments; the exit status.
function M.run(ctx, command, args)
  ctx.command_args = args
  local client, err = ctx:client(command.row.auth)
  if not client then return ctx:fail(err) end
  local h, method, call_args, opts = prepare(client, command, args)
  if not h then return ctx:fail(method) end
  if h.error then return ctx:fail(h.error) end
  if command.spends then return spend(ctx, command, h, method, call_args, opts) end
  return M.finish(ctx, command, call(h, method, call_args, opts))
end

return M
