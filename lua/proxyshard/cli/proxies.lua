--- `proxyshard proxies [ORDER... | --all-active] [--format FMT] [--scheme S]`:
-- the proxies of Datacenter/ISP orders, for scrapers and proxy tools. With
-- --format (txt, url, csv, json, or a template with {fields}: see
-- proxyshard.model.proxy_export) stdout holds one line per proxy and
-- nothing else; without, a table (passwords included: the list is for
-- using them). Every order is read before anything is printed, so a
-- failure prints no partial list. A residential order has no proxy list
-- (its traffic goes through the residential endpoint with a sub-user's
-- credentials): named on the command line it is refused (exit 7), with
-- --all-active it is left out.
-- @module proxyshard.cli.proxies
local errors = require "proxyshard.errors"
local order_set = require "proxyshard.cli.order_set"
local export = require "proxyshard.model.proxy_export"
local order_info = require "proxyshard.model.order_info"
local proxy = require "proxyshard.model.proxy"
local exit = require "proxyshard.cli.exit"

local ipairs = ipairs
local format = string.format

local M = {}


--- The text table's columns.
M.COLUMNS = { "order_id", "ip", "http_port", "socks_port", "username", "password", "status", "signature", "until" }

--- The command (see proxyshard.cli.commands).
M.command = {
  name = "proxies",
  serves = "order.proxies",
  summary = "the proxies of Datacenter/ISP orders: a table, or one line per proxy in a format tools read",
  usage = "proxyshard proxies [ORDER... | --all-active] [--format txt|url|csv|json|TEMPLATE] [--scheme SCHEME] "
    .. "[--concurrency N]",
}

function M.command.configure(cmd)
  cmd:argument("orders", "order ids (or --all-active)"):args("*"):argname("ORDER"):target("orders")
  cmd:flag("--all-active", "every active Datacenter/ISP order"):target("all_active")
  cmd:option("--format", "txt (ip:port:user:pass), url (scheme://user:pass@ip:port, credentials "
    .. "percent-encoded, IPv6 in brackets), csv, json (one object per line), or a template such as "
    .. "'{ip}:{port}:{username}:{password}' (fields: " .. export.field_names() .. ")")
    :argname("FMT"):target("format")
  cmd:option("--scheme", "http (the HTTP port, default), https, socks4, socks4a, socks5 or socks5h "
    .. "(the SOCKS port): the port txt and templates use, and the URLs' scheme")
    :argname("SCHEME"):target("scheme")
  cmd:option("--concurrency", format("orders read at once (default %d)", order_set.DEFAULT_CONCURRENCY))
    :argname("N"):target("concurrency")
  cmd:epilog("The library call: client:order(ID):proxies(), and list:format(fmt, { scheme = ... }).")
end


-- A refusal of an order that has no proxy list, in the command's words.
local function no_list(id, err)
  return errors.new("validation", format("order %d is not a Datacenter/ISP order: it has no proxy list "
    .. "(a residential order's proxies are its endpoint with a sub-user's credentials: `proxyshard sub-users`)",
    id), { status = err.status, method = err.method, path = err.path })
end

function M.command.run(ctx, args)
  -- the format and the scheme are checked before any request
  local scheme, err = export.scheme(args.scheme)
  if not scheme then return ctx:fail(errors.invalid("--scheme", (err.message:gsub("^scheme ", "")))) end
  if args.format and ctx.json then
    return ctx:fail(errors.invalid("--format", "and --json are two outputs: give one (--format json is one "
      .. "object per line)"))
  end
  if args.format then
    local _, ferr = export.format({}, args.format, { scheme = scheme })
    if ferr then return ctx:fail(errors.invalid("--format", (ferr.message:gsub("^%a+ ", "")))) end
  end
  local concurrency
  concurrency, err = order_set.concurrency(args.concurrency)
  if not concurrency then return ctx:fail(err) end
  local client
  client, err = ctx:client()
  if not client then return ctx:fail(err) end
  local ids, twice = order_set.ids(client, args, function(o)
    return order_info.IP_PRODUCTS[o.product_name] == true
  end)
  if not ids then return ctx:fail(twice) end
  local read
  read, err = order_set.each(client, ids, function(id)
    local list, perr = client:order(id):proxies()
    if list then return list end -- not its second value, the tag
    return nil, perr
  end, concurrency)
  if not read then return ctx:fail(err) end
  local all = {}
  for i, r in ipairs(read) do
    if r.err then
      -- 403 "Method is unavailable for this order": not a DC/ISP order
      if r.err.kind == "forbidden" then return ctx:fail(no_list(ids[i], r.err)) end
      return ctx:fail(r.err)
    end
    for _, p in ipairs(r.value) do all[#all + 1] = p end
  end
  local list = proxy.list(all)
  if args.format then
    ctx:out((assert(list:format(args.format, { scheme = scheme }))))
    return exit.OK
  end
  return ctx:result("proxies", list, ctx:table(list, M.COLUMNS))
end

return M
