-- The operation table (proxyshard.operations) against the API document
-- (openapi-1.1.0.json in ../shared/api next to the checkout, or the file
-- named by $PROXYSHARD_OPENAPI): every operation of the document is one row
-- and every row is an operation of the document; per row the parameters
-- (name as sent, where, required; integer and boolean types against the
-- row's validators), the class (GET = read), the token (none exactly where
-- the document's `security` is []), and the answer shape (every field the
-- row reads is a field of the document's 200 answer, of a compatible type).
-- A row that disagrees fails a test that names the row and the difference.
local cjson = require "cjson"
local operations = require "proxyshard.operations"
local validate = require "proxyshard.check.validate"

local ROOT = debug.getinfo(1, "S").source:match("^@(.*)/spec/[^/]*$") or "."
local DOC_FILE = os.getenv("PROXYSHARD_OPENAPI") or (ROOT .. "/../shared/api/openapi-1.1.0.json")

local HTTP_METHODS = { get = true, put = true, post = true, delete = true, patch = true, head = true,
  options = true, trace = true }

local function read_doc()
  local f = io.open(DOC_FILE, "rb")
  if not f then return nil end
  local text = f:read("a")
  f:close()
  return cjson.decode(text)
end

-- A JSON pointer inside the document ("#/components/schemas/Order").
local function pointer(doc, ref)
  assert(ref:sub(1, 2) == "#/", "only local $refs are supported: " .. ref)
  local node = doc
  for part in ref:sub(3):gmatch("[^/]+") do
    part = part:gsub("~1", "/"):gsub("~0", "~")
    node = node[part]
    assert(node ~= nil, "the $ref " .. ref .. " leads nowhere")
  end
  return node
end

local function resolve(doc, node)
  local hops = 0
  while type(node) == "table" and node["$ref"] do
    node = pointer(doc, node["$ref"])
    hops = hops + 1
    assert(hops < 50, "a $ref cycle")
  end
  return node
end

local function contains(list, v)
  for _, x in ipairs(list or {}) do
    if x == v then return true end
  end
  return false
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  return keys
end

local function key_of(method, path) return method .. " " .. path end

local function row_label(row)
  return ("%s:%s (%s %s)"):format(row.handle, row.name, row.method, row.path)
end

-- The document's operations, sorted by path then method: { method, path, op, item }.
local function document_operations(doc)
  local list = {}
  for path, item in pairs(doc.paths) do
    item = resolve(doc, item)
    for method, op in pairs(item) do
      if HTTP_METHODS[method] then
        list[#list + 1] = { method = method:upper(), path = path, op = op, item = item }
      end
    end
  end
  table.sort(list, function(a, b)
    if a.path ~= b.path then return a.path < b.path end
    return a.method < b.method
  end)
  return list
end

---------------------------------------------------------------------------
-- Parameters

-- The document's parameters of an operation by "at wire": path and query
-- from `parameters` (the path item's, overridden by the operation's), body
-- fields from the JSON requestBody. Each { at, wire, required, schema }.
local function body_fields(doc, schema)
  schema = resolve(doc, schema)
  local variants = schema.oneOf or schema.anyOf
  if variants then
    -- a field any variant has; required only when every variant requires it
    local union, count = {}, #variants
    for _, variant in ipairs(variants) do
      for name, f in pairs(body_fields(doc, variant)) do
        local u = union[name] or { schema = f.schema, required_in = 0 }
        union[name] = u
        if f.required then u.required_in = u.required_in + 1 end
      end
    end
    local out = {}
    for name, u in pairs(union) do out[name] = { schema = u.schema, required = u.required_in == count } end
    return out
  end
  local out = {}
  for _, part in ipairs(schema.allOf or {}) do
    for name, f in pairs(body_fields(doc, part)) do out[name] = f end
  end
  for name, sub in pairs(schema.properties or {}) do
    out[name] = { schema = resolve(doc, sub), required = contains(schema.required, name) }
  end
  for _, name in ipairs(schema.required or {}) do
    if out[name] then out[name].required = true end
  end
  return out
end

local function document_params(doc, entry)
  local params = {}
  local function add(list)
    for _, p in ipairs(list or {}) do
      p = resolve(doc, p)
      if p["in"] == "path" or p["in"] == "query" then
        params[p["in"] .. " " .. p.name] = { at = p["in"], wire = p.name, required = p.required == true,
          schema = resolve(doc, p.schema or {}) }
      end
    end
  end
  add(entry.item.parameters)
  add(entry.op.parameters)
  local body = entry.op.requestBody and resolve(doc, entry.op.requestBody)
  local content = body and body.content and body.content["application/json"]
  if content and content.schema then
    for name, f in pairs(body_fields(doc, content.schema)) do
      params["body " .. name] = { at = "body", wire = name, required = f.required, schema = f.schema }
    end
  end
  return params
end

-- What a validator accepts, probed: "integer" when it takes 3 as the
-- integer 3 and refuses 2.5; "boolean" when it takes true and refuses 1.
local function validator_kind(check)
  local fn = validate[check]
  if type(fn) ~= "function" then return nil end
  local function try(v)
    local ok, out = pcall(fn, v, "probe")
    return ok and out or nil
  end
  local three = try(3)
  if math.type(three) == "integer" and three == 3 and try(2.5) == nil then return "integer" end
  if try(true) == true and try(1) == nil then return "boolean" end
  return "other"
end

-- The differences between a row's parameters and the document's, as lines.
local function parameter_differences(doc, row, entry)
  local wanted = document_params(doc, entry)
  local problems, have = {}, {}
  for _, p in ipairs(row.params) do
    local key = p.at .. " " .. p.wire
    have[key] = true
    local d = wanted[key]
    if not d then
      local elsewhere
      for _, at in ipairs { "path", "query", "body" } do
        if at ~= p.at and wanted[at .. " " .. p.wire] then elsewhere = at end
      end
      problems[#problems + 1] = ("the row's %s parameter %q (Lua %s) is not in the document%s"):format(p.at,
        p.wire, p.name, elsewhere and (", which has it in the " .. elsewhere) or "")
    else
      if (p.required == true) ~= d.required then
        problems[#problems + 1] = ("%s parameter %q: required is %s in the row, %s in the document"):format(p.at,
          p.wire, tostring(p.required == true), tostring(d.required))
      end
      -- integer and boolean parameters: the row's check takes the same type
      local doc_type = d.schema.type
      local doc_kind = (doc_type == "integer" or doc_type == "boolean") and doc_type or "other"
      local kind = validator_kind(p.check)
      if p.value == nil and kind ~= doc_kind then
        problems[#problems + 1] = ("%s parameter %q: the document's type is %s, the row's check %q is %s"):format(
          p.at, p.wire, tostring(doc_type), tostring(p.check),
          kind == "other" and "neither an integer nor a boolean check" or ("a " .. kind .. " check"))
      end
      if p.value ~= nil and d.schema.enum and not contains(d.schema.enum, p.value) then
        problems[#problems + 1] = ("%s parameter %q: the row always sends %s, not one of the document's enum"):format(
          p.at, p.wire, tostring(p.value))
      end
    end
  end
  for _, key in ipairs(sorted_keys(wanted)) do
    if not have[key] then
      local d = wanted[key]
      problems[#problems + 1] = ("the document's %s%s parameter %q is not in the row"):format(
        d.required and "required " or "", d.at, d.wire)
    end
  end
  return problems
end

---------------------------------------------------------------------------
-- Answers

local SCALAR_TYPES = { integer = "integer", money = "integer", price = "integer",
  string = "string", boolean = "boolean" }

-- The properties of an object schema, oneOf/anyOf/allOf variants merged.
local function properties_of(doc, schema)
  schema = resolve(doc, schema)
  local out = {}
  for _, part in ipairs(schema.allOf or schema.oneOf or schema.anyOf or {}) do
    for name, sub in pairs(properties_of(doc, part)) do out[name] = sub end
  end
  for name, sub in pairs(schema.properties or {}) do out[name] = sub end
  return out
end

local function schema_type(doc, schema)
  schema = resolve(doc, schema)
  if schema.type then return schema.type end
  if schema.properties or schema.allOf or schema.oneOf or schema.anyOf then return "object" end
  if schema.items then return "array" end
  return nil
end

local compare_fields

-- One value of a shape (a scalar name, { list = }, { object = }) against a schema.
local function compare_value(doc, kind, schema, where, problems)
  local t = schema_type(doc, schema)
  if type(kind) == "string" then
    local want = SCALAR_TYPES[kind]
    if not want then
      problems[#problems + 1] = where .. ": the row's type " .. kind .. " is not one of the shapes' (proxyshard.shapes)"
    elseif t ~= want then
      problems[#problems + 1] = ("%s: the row reads %s (%s), the document says %s"):format(where, kind, want,
        tostring(t))
    end
  elseif kind.list ~= nil then
    if t ~= "array" then
      problems[#problems + 1] = ("%s: the row reads a list, the document says %s"):format(where, tostring(t))
    else
      compare_value(doc, kind.list, resolve(doc, schema).items or {}, where .. "[]", problems)
    end
  elseif kind.object ~= nil then
    if t ~= "object" then
      problems[#problems + 1] = ("%s: the row reads an object, the document says %s"):format(where, tostring(t))
    else
      compare_fields(doc, kind.object, schema, where, problems)
    end
  else
    -- a bare table of fields where a value is expected: the object notation
    compare_fields(doc, kind, schema, where, problems)
  end
end

function compare_fields(doc, shape, schema, where, problems)
  local props = properties_of(doc, schema)
  for _, name in ipairs(sorted_keys(shape)) do
    if name ~= "required" then
      local at = where == "" and name or (where .. "." .. name)
      if props[name] == nil then
        problems[#problems + 1] = at .. ": the row reads it, the document's answer has no such field"
      else
        compare_value(doc, shape[name], props[name], at, problems)
      end
    end
  end
  for _, name in ipairs(shape.required or {}) do
    if shape[name] == nil then
      problems[#problems + 1] = (where == "" and "" or where .. ".") .. name .. ": required by the row "
        .. "but not in its shape"
    end
  end
end

local function success_schema(doc, entry)
  local r = entry.op.responses and resolve(doc, entry.op.responses["200"] or {})
  local content = r and r.content and r.content["application/json"]
  return content and content.schema, r ~= nil and next(r) ~= nil
end

-- The differences between a row's answer shape and the document's 200 answer, as lines.
local function answer_differences(doc, row, entry)
  local schema, documented = success_schema(doc, entry)
  local problems = {}
  if not documented then
    problems[#problems + 1] = "the document has no 200 answer"
    return problems
  end
  if row.answer == false then
    if schema then problems[#problems + 1] = "the row reads no JSON (answer = false), the document's 200 has some" end
    return problems
  end
  if not schema then
    problems[#problems + 1] = "the row reads a JSON answer, the document's 200 has none"
    return problems
  end
  local shape = row.answer
  if shape.list ~= nil and next(shape, next(shape)) == nil then
    compare_value(doc, shape, schema, "answer", problems) -- a bare JSON array
  elseif schema_type(doc, schema) ~= "object" then
    problems[#problems + 1] = "the row reads an object, the document's answer is "
      .. tostring(schema_type(doc, schema))
  else
    -- the fields a row reads for the 1.0.0 answer (`legacy`) are not the
    -- 1.1.0 document's; each must still be a field the row reads
    local current = {}
    for name, kind in pairs(shape) do current[name] = kind end
    for _, name in ipairs(row.legacy or {}) do
      if current[name] == nil then
        problems[#problems + 1] = "legacy field " .. name .. " is not in the row's answer"
      elseif properties_of(doc, schema)[name] ~= nil then
        problems[#problems + 1] = "legacy field " .. name .. " is in the 1.1.0 document: not legacy"
      end
      current[name] = nil
    end
    compare_fields(doc, current, schema, "", problems)
    if row.result and shape[row.result] == nil then
      problems[#problems + 1] = "result = " .. row.result .. " is not a field of the row's answer"
    end
  end
  return problems
end

---------------------------------------------------------------------------

local doc = read_doc()

describe("the operation table against the API document " .. DOC_FILE:match("[^/]*$"), function()
  if not doc then
    it("needs the API document", function()
      pending("no API document at " .. DOC_FILE .. " (set PROXYSHARD_OPENAPI to check the table against it)")
    end)
    return
  end

  local entries = document_operations(doc)
  local rows_by_key, entry_by_key = {}, {}
  for _, row in ipairs(operations.rows) do
    local key = key_of(row.method, row.path)
    rows_by_key[key] = rows_by_key[key] or {}
    table.insert(rows_by_key[key], row)
  end
  local covered = 0
  for _, entry in ipairs(entries) do
    local key = key_of(entry.method, entry.path)
    entry_by_key[key] = entry
    if rows_by_key[key] and #rows_by_key[key] == 1 then covered = covered + 1 end
  end
  print(("# operations: %d of %d in the document; %d rows"):format(covered, #entries, #operations.rows))

  describe("every operation of the document has exactly one row:", function()
    for _, entry in ipairs(entries) do
      local key = key_of(entry.method, entry.path)
      it(key, function()
        local found = rows_by_key[key] or {}
        local names = {}
        for _, row in ipairs(found) do names[#names + 1] = row.handle .. ":" .. row.name end
        assert(#found == 1, ("%s: %s"):format(key, #found == 0 and "missing from the table (no row)"
          or ("%d rows: %s"):format(#found, table.concat(names, ", "))))
      end)
    end
  end)

  describe("every row is an operation of the document:", function()
    for _, row in ipairs(operations.rows) do
      it(row_label(row), function()
        assert(entry_by_key[key_of(row.method, row.path)],
          row_label(row) .. ": an extra row, the document has no " .. key_of(row.method, row.path))
      end)
    end
  end)

  for _, row in ipairs(operations.rows) do
    local entry = entry_by_key[key_of(row.method, row.path)]
    if entry then
      describe(row_label(row), function()
        it("has the document's parameters (name, where, required, type)", function()
          local problems = parameter_differences(doc, row, entry)
          assert(#problems == 0, row_label(row) .. ":\n" .. table.concat(problems, "\n"))
        end)

        it("is a " .. (row.method == "GET" and "read" or "write") .. " and sends the token as documented",
          function()
            local problems = {}
            local class = row.method == "GET" and "read" or "write"
            if row.class ~= class then
              problems[#problems + 1] = ("class is %s, a %s is a %s"):format(tostring(row.class), row.method, class)
            end
            local open = type(entry.op.security) == "table" and next(entry.op.security) == nil
            if (row.auth == false) ~= open then
              problems[#problems + 1] = open and "the document needs no token (security: []), the row sends one"
                or "the document needs the token, the row has auth = false"
            end
            assert(#problems == 0, row_label(row) .. ":\n" .. table.concat(problems, "\n"))
          end)

        it("reads only fields of the document's 200 answer, of compatible types", function()
          local problems = answer_differences(doc, row, entry)
          assert(#problems == 0, row_label(row) .. ":\n" .. table.concat(problems, "\n"))
        end)
      end)
    end
  end
end)
