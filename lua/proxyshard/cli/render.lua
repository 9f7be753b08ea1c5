--- What the command prints: readable text (amounts as `$1.50`, lists as
-- aligned tables), or JSON for machines (`--json`): amounts as exact
-- integer cents in fields named `<field>_cents`, handles and functions
-- left out, keys sorted, one document per command.
-- @module proxyshard.cli.render
local json = require "proxyshard.wire.json"
local base = require "proxyshard.model.base"

local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local getmetatable = getmetatable
local rawget = rawget
local format = string.format
local rep = string.rep
local concat = table.concat
local sort = table.sort
local upper = string.upper
local gsub = string.gsub
local find = string.find
local lower = string.lower
local next = next
local mtype = math.type

local M = {}

local function money()
  return package.loaded["proxyshard.money"]
end

local function is_money(v)
  local m = money()
  return m ~= nil and m.is(v)
end

-- A handle (client, order, add-on...): it has a `bound` method. Not data.
local function is_handle(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and type(rawget(mt, "bound")) == "function"
end

local MAX_DEPTH = 12

-- `clean` (text -> text) redacts every string before it is encoded: after
-- encoding, a value that holds the token JSON-escaped (`\/`) would be
-- escaped again and no longer match.
local function to_plain(v, depth, clean)
  if depth > MAX_DEPTH then return nil end
  if is_money(v) then return v.cents end
  local tv = type(v)
  if tv == "number" then
    if mtype(v) == "float" then
      local i = math.tointeger(v)
      if i then return i end
      return format("%.17g", v) -- proxyshard.wire.json writes integers only
    end
    return v
  end
  if tv == "string" then return clean(v) end
  if tv == "boolean" then return v end
  if tv ~= "table" then return nil end
  if is_handle(v) then return nil end
  local marked = base.redactor_of(v)
  if marked then
    local outer = clean
    clean = function(s) return marked(outer(s)) end
  end
  if json.is_array(v) and (#v > 0 or base.is_list(v) or json.is_marked(v)) then
    local out = json.array {}
    for i = 1, #v do out[i] = to_plain(v[i], depth + 1, clean) end
    return out
  end
  local out = {}
  for k, x in pairs(v) do
    if type(k) == "string" and k:sub(1, 1) ~= "_" then
      local plain = to_plain(x, depth + 1, clean)
      if plain ~= nil then
        out[clean(is_money(x) and (k .. "_cents") or k)] = plain
      end
    end
  end
  return out
end

local function same(s) return s end

--- A library value as plain data for JSON: money as integer cents (its
-- field renamed `<name>_cents`), models as objects, lists as arrays;
-- every string (keys too) through `clean` (text -> text, default none) and
-- the redactor a result is marked with (proxyshard.model.base).
function M.plain(v, clean)
  return to_plain(v, 0, clean or same)
end

--- One JSON document, with a newline; strings through `clean` (M.plain).
function M.json(doc, clean)
  return json.encode(M.plain(doc, clean)) .. "\n"
end

-- The fields of an error worth a machine's while (the message is already
-- redacted by the library).
local ERROR_FIELDS = { "kind", "message", "status", "method", "path", "argument", "attempts", "request_sent",
  "bought", "reconciled", "retry_after", "max_total", "quote", "observed_qty", "expected_qty" }

--- An error as plain data: { kind, message, status, ... }.
function M.error(err)
  if type(err) ~= "table" then return { kind = "internal", message = tostring(err) } end
  local out = {}
  for _, k in ipairs(ERROR_FIELDS) do
    if err[k] ~= nil then out[k] = err[k] end
  end
  return out
end

-- Text

--- The columns of a list's items, by the item's class: the fields shown,
-- in order. A class not listed shows its scalar fields, sorted; a field
-- whose name has "password" in it is never shown as text.
M.COLUMNS = {
  ["proxyshard.order_summary"] = { "order_id", "product_name", "cycle_name", "expires_at", "auto_renewal", "tag" },
  ["proxyshard.proxy"] = { "ip", "status", "signature", "http_port", "socks_port", "until", "username" },
  ["proxyshard.product"] = { "name", "location", "cycles", "description" },
  ["proxyshard.stock"] = { "country", "product", "amount" },
  ["proxyshard.place"] = { "code", "name", "region", "country" },
  ["proxyshard.sub_user"] = { "user_id", "first_name", "data", "data_spent", "data_remain" },
  ["proxyshard.addon_line"] = { "addon_key", "qty", "price_per_unit", "pending" },
}

local function cell(v)
  if v == nil then return "-" end
  if is_money(v) then return tostring(v) end
  local tv = type(v)
  if tv == "boolean" then return v and "yes" or "no" end
  if tv ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if mt and mt.__tostring then return tostring(v) end
  if v.name then return tostring(v.name) end
  if v.action then return v.action .. (v.next_qty and (" to " .. v.next_qty) or "") end
  local parts = {}
  for i = 1, #v do parts[i] = cell(v[i]) end
  return concat(parts, ", ")
end

local function width(s)
  return utf8.len(s) or #s
end

local function header(name)
  return upper((gsub(name, "_", " ")))
end

local function scalar_fields(item)
  local names = {}
  for k, v in pairs(item) do
    if type(k) == "string" and not k:find("password") and type(v) ~= "function" and not is_handle(v)
        and (type(v) ~= "table" or is_money(v)) then
      names[#names + 1] = k
    end
  end
  sort(names)
  return names
end

-- The output formats of a table (--output): text aligned in columns, or
-- one line a row with tab- or comma-separated cells.
M.FORMATS = { table = true, tsv = true, csv = true }

-- A cell of tsv: a backslash, tab, newline or carriage return escaped
-- (\\, \t, \n, \r), so that a row is one line and a cell one field.
local TSV_ESCAPES = { ["\\"] = "\\\\", ["\t"] = "\\t", ["\n"] = "\\n", ["\r"] = "\\r" }
local function tsv_cell(s)
  return (gsub(s, "[\\\t\n\r]", TSV_ESCAPES))
end

-- A cell of csv (RFC 4180): quoted when it holds a comma, a quote, CR or
-- LF, its quotes doubled.
local function csv_cell(s)
  if find(s, '[,"\r\n]') then return '"' .. gsub(s, '"', '""') .. '"' end
  return s
end

-- A name as --columns may spell it: any case, dashes or spaces for "_".
local function column_name(s)
  return (gsub(lower(s), "[%- ]", "_"))
end

--- The columns to show of `items` (whose first is `first`), by `wanted`
-- (the names --columns gives, any order) among those the table knows: its
-- default columns and the items' fields; or nil and an invalid_argument
-- error naming the closest known column.
function M.columns(wanted, defaults, first)
  if not wanted then return defaults end
  local known, listed = {}, {}
  for _, name in ipairs(defaults or {}) do
    if not known[name] then known[name] = true listed[#listed + 1] = name end
  end
  if type(first) == "table" then
    for _, name in ipairs(M.fields(first)) do
      if not known[name] then known[name] = true listed[#listed + 1] = name end
    end
  end
  local out = {}
  for i, given in ipairs(wanted) do
    local name = column_name(given)
    if not known[name] and next(known) then
      local hint = require("proxyshard.check.options").closest(name, known)
      return nil, require("proxyshard.errors").invalid("--columns", format("names %q, which this table does not "
        .. "have%s; its columns: %s", given, hint and format(' (did you mean "%s"?)', hint) or "",
        concat(listed, ",")))
    end
    out[i] = name
  end
  return out
end

--- The fields of `item` a table can show (its scalar fields but
-- passwords), sorted.
function M.fields(item)
  return scalar_fields(item)
end

--- A list as an aligned table with a header line; `columns` (the field
-- names) defaults to the item class's (COLUMNS). `view` (optional: the
-- command line's --output, --columns and --no-header) is { format =
-- "table" | "tsv" | "csv", columns = names picked (in their order),
-- header = false to leave the header out }. `none`: the text of an empty
-- list as a table (default "(none)"). Returns the text, or nil and an
-- invalid_argument error (a column the table does not have).
function M.table(items, columns, view, none)
  view = view or {}
  local how = view.format or "table"
  local first = items[1]
  if type(first) ~= "table" and first ~= nil then
    local lines = {}
    for i = 1, #items do
      local text = cell(items[i])
      lines[i] = how == "tsv" and tsv_cell(text) or how == "csv" and csv_cell(text) or text
    end
    return concat(lines, "\n")
  end
  local mt = first and getmetatable(first)
  columns = columns or (mt and M.COLUMNS[rawget(mt, "__name") or ""]) or (first and scalar_fields(first))
  local err
  columns, err = M.columns(view.columns, columns, first)
  if not columns then return nil, err end
  if how ~= "table" then
    local lines, escape = {}, how == "csv" and csv_cell or tsv_cell
    if view.header ~= false and #columns > 0 then
      local names = {}
      for c, name in ipairs(columns) do names[c] = escape(name) end
      lines[1] = concat(names, how == "csv" and "," or "\t")
    end
    for i = 1, #items do
      local row = {}
      for c, name in ipairs(columns) do
        local v = items[i][name]
        row[c] = v == nil and "" or escape(cell(v))
      end
      lines[#lines + 1] = concat(row, how == "csv" and "," or "\t")
    end
    return concat(lines, "\n")
  end
  if #items == 0 then return none or "(none)" end
  local rows, widths = {}, {}
  if view.header ~= false then
    rows[1] = {}
    for c, name in ipairs(columns) do rows[1][c] = header(name) end
  end
  for c in ipairs(columns) do widths[c] = rows[1] and width(rows[1][c]) or 0 end
  for i = 1, #items do
    local row = {}
    for c, name in ipairs(columns) do
      row[c] = cell(items[i][name])
      if width(row[c]) > widths[c] then widths[c] = width(row[c]) end
    end
    rows[#rows + 1] = row
  end
  local lines = {}
  for r, row in ipairs(rows) do
    local parts = {}
    for c = 1, #columns do
      local text = row[c]
      parts[c] = c < #columns and (text .. rep(" ", widths[c] - width(text))) or text
    end
    lines[r] = (gsub(concat(parts, "  "), "%s+$", ""))
  end
  return concat(lines, "\n")
end

local function is_list(v)
  return type(v) == "table" and not is_money(v) and (base.is_list(v) or (#v > 0 and json.is_array(v)))
end

--- The pages (a model holding one page of a list): the field with the
-- list, shown as a table, the other fields under it. Any other model is
-- shown by its tostring.
M.PAGES = {
  ["proxyshard.order_page"] = "orders",
  ["proxyshard.sub_user_page"] = "sub_users",
}

--- A result as text: a list as a table; a page as the table of its items
-- and a line of its other fields; anything else by tostring. `view` as
-- for M.table: as tsv or csv, or with columns picked, a model (not a
-- list) is a table of one row. Returns the text and the line under the
-- table (a page's other fields: nil when there is none), or nil and an
-- invalid_argument error.
function M.text(v, view)
  if v == nil then return "" end
  if is_list(v) then return M.table(v, nil, view) end
  local mt = type(v) == "table" and getmetatable(v)
  -- every page in the shape of one (a command's --all): its list
  if mt and rawget(mt, "__list") then return M.table(rawget(mt, "__list"), nil, view) end
  local field = mt and M.PAGES[rawget(mt, "__name") or ""]
  if field and type(v[field]) == "table" then
    local rest = {}
    for _, k in ipairs(scalar_fields(v)) do rest[#rest + 1] = format("%s: %s", (gsub(k, "_", " ")), cell(v[k])) end
    local text, err = M.table(v[field], nil, view)
    if not text then return nil, err end
    return text, #rest > 0 and ("(" .. concat(rest, ", ") .. ")") or nil
  end
  if view and (view.columns or (view.format or "table") ~= "table") and type(v) == "table" and not is_money(v)
      and not is_handle(v) then
    return M.table({ v }, nil, view)
  end
  if view and (view.format == "tsv" or view.format == "csv") then return M.table({ v }, nil, view) end
  return tostring(v)
end

return M
