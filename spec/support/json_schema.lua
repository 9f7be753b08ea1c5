--- A small JSON decoder and JSON Schema validator of our own, for the
-- subset docs/json-output.schema.json uses, and the Markdown that
-- docs/json-output.md holds for the schema (spec/json_output_spec.lua).
--
-- The decoder keeps what lua-cjson 2.1.0 loses: `[]` and `{}` are told
-- apart (arrays and objects are marked), and a number is an integer only
-- when written as one (`5`, not `5.0` or `5e0`). So the validator sees an
-- empty list printed as `{}`, or cents printed with a fraction.
--
-- The schema subset (a keyword outside it is an error, so the schema never
-- says more than is checked): type (a name or a list of names), enum,
-- properties, required, additionalProperties (false or a schema), items,
-- oneOf, anyOf, $ref (a local pointer: "#/$defs/Name"); the annotations
-- $schema, $id, $comment, title, description, $defs.
--
-- As a script, it prints the Markdown of a schema file:
--   lua5.4 spec/support/json_schema.lua docs/json-output.schema.json
local type = type
local pairs = pairs
local ipairs = ipairs
local tostring = tostring
local setmetatable = setmetatable
local getmetatable = getmetatable
local format = string.format
local concat = table.concat
local sort = table.sort
local byte = string.byte
local sub = string.sub
local find = string.find
local mtype = math.type

local M = {}

M.ARRAY = { __name = "json_schema.array" }
M.OBJECT = { __name = "json_schema.object" }
--- JSON null (a value of its own: a nil would vanish from a table).
M.null = setmetatable({}, { __name = "json_schema.null", __tostring = function() return "null" end })

-- Decoding

local ESCAPES = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function decode_error(text, pos, what)
  error({ json_error = format("%s at byte %d (near %q)", what, pos, sub(text, pos, pos + 15)) }, 0)
end

local function skip(text, pos)
  local _, e = find(text, "^[ \t\r\n]*", pos)
  return e + 1
end

local value_at

local function string_at(text, pos)
  -- pos is at the opening quote
  local out, i = {}, pos + 1
  while true do
    local c = sub(text, i, i)
    if c == "" then decode_error(text, pos, "unterminated string") end
    if c == '"' then return concat(out), i + 1 end
    if c == "\\" then
      local e = sub(text, i + 1, i + 1)
      if ESCAPES[e] then
        out[#out + 1] = ESCAPES[e]
        i = i + 2
      elseif e == "u" then
        local hex = sub(text, i + 2, i + 5)
        if not find(hex, "^%x%x%x%x$") then decode_error(text, i, "bad \\u escape") end
        local cp = tonumber(hex, 16)
        i = i + 6
        if cp >= 0xD800 and cp <= 0xDBFF and sub(text, i, i + 1) == "\\u" then
          local low = tonumber(sub(text, i + 2, i + 5), 16)
          if low and low >= 0xDC00 and low <= 0xDFFF then
            cp = 0x10000 + (cp - 0xD800) * 0x400 + (low - 0xDC00)
            i = i + 6
          end
        end
        out[#out + 1] = utf8.char(cp)
      else
        decode_error(text, i, "bad escape")
      end
    elseif byte(c) < 0x20 then
      decode_error(text, i, "control character in a string")
    else
      out[#out + 1] = c
      i = i + 1
    end
  end
end

local function number_at(text, pos)
  local s, e = find(text, "^-?%d+%.?%d*[eE]?[-+]?%d*", pos)
  if not s then decode_error(text, pos, "bad number") end
  local word = sub(text, s, e)
  if not find(word, "^-?0$") and not find(word, "^-?[1-9]%d*$")
      and not find(word, "^-?%d+%.%d+$") and not find(word, "^-?%d+%.?%d*[eE][-+]?%d+$") then
    decode_error(text, pos, "bad number")
  end
  if find(word, "^-?%d+$") then
    local i = math.tointeger(tonumber(word))
    if i == nil then decode_error(text, pos, "integer out of range") end
    return i, e + 1
  end
  return tonumber(word) + 0.0, e + 1
end

function value_at(text, pos, depth)
  if depth > 64 then decode_error(text, pos, "nested too deep") end
  pos = skip(text, pos)
  local c = sub(text, pos, pos)
  if c == "{" then
    local obj = setmetatable({}, M.OBJECT)
    pos = skip(text, pos + 1)
    if sub(text, pos, pos) == "}" then return obj, pos + 1 end
    while true do
      if sub(text, pos, pos) ~= '"' then decode_error(text, pos, "expected a key") end
      local key
      key, pos = string_at(text, pos)
      if obj[key] ~= nil then decode_error(text, pos, "duplicate key " .. key) end
      pos = skip(text, pos)
      if sub(text, pos, pos) ~= ":" then decode_error(text, pos, "expected ':'") end
      obj[key], pos = value_at(text, pos + 1, depth + 1)
      pos = skip(text, pos)
      local d = sub(text, pos, pos)
      if d == "}" then return obj, pos + 1 end
      if d ~= "," then decode_error(text, pos, "expected ',' or '}'") end
      pos = skip(text, pos + 1)
    end
  elseif c == "[" then
    local arr = setmetatable({}, M.ARRAY)
    pos = skip(text, pos + 1)
    if sub(text, pos, pos) == "]" then return arr, pos + 1 end
    while true do
      arr[#arr + 1], pos = value_at(text, pos, depth + 1)
      pos = skip(text, pos)
      local d = sub(text, pos, pos)
      if d == "]" then return arr, pos + 1 end
      if d ~= "," then decode_error(text, pos, "expected ',' or ']'") end
      pos = pos + 1
    end
  elseif c == '"' then
    return string_at(text, pos)
  elseif sub(text, pos, pos + 3) == "true" then
    return true, pos + 4
  elseif sub(text, pos, pos + 4) == "false" then
    return false, pos + 5
  elseif sub(text, pos, pos + 3) == "null" then
    return M.null, pos + 4
  elseif find(c, "^[-%d]") then
    return number_at(text, pos)
  end
  decode_error(text, pos, "unexpected character")
end

--- Decode `text`: exactly one JSON value, whitespace around it allowed.
-- Returns the value (arrays and objects marked: M.ARRAY, M.OBJECT; null
-- as M.null), or nil, message.
function M.decode(text)
  if type(text) ~= "string" then return nil, "not text" end
  local ok, value, pos = pcall(value_at, text, 1, 0)
  if not ok then
    if type(value) == "table" and value.json_error then return nil, value.json_error end
    error(value, 0)
  end
  pos = skip(text, pos)
  if pos <= #text then return nil, format("more after the JSON value at byte %d", pos) end
  return value
end

--- The JSON type of a decoded value: object, array, string, integer,
-- number (a float), boolean, null.
function M.type_of(v)
  if v == M.null then return "null" end
  local t = type(v)
  if t == "table" then
    if getmetatable(v) == M.ARRAY then return "array" end
    if getmetatable(v) == M.OBJECT then return "object" end
    return "table" -- not decoded by M.decode
  end
  if t == "number" then return mtype(v) == "integer" and "integer" or "number" end
  if t == "boolean" or t == "string" then return t end
  return t
end

--- Read and decode the file at `path` (raises when it cannot).
function M.load(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("a")
  f:close()
  local value, err = M.decode(text)
  if value == nil then error(path .. ": " .. err, 0) end
  return value
end

-- Validation

local KEYWORDS = {
  type = true, enum = true, properties = true, required = true, additionalProperties = true, items = true,
  oneOf = true, anyOf = true, ["$ref"] = true,
  ["$schema"] = true, ["$id"] = true, ["$comment"] = true, title = true, description = true, ["$defs"] = true,
}

local TYPES = { object = true, array = true, string = true, integer = true, number = true, boolean = true,
  null = true }

--- The schema at the local reference `ref` ("#/$defs/Name") in `root`,
-- or nil, why.
function M.resolve(root, ref)
  if type(ref) ~= "string" or sub(ref, 1, 1) ~= "#" then return nil, "not a local reference: " .. tostring(ref) end
  local node = root
  for part in ref:sub(2):gmatch("[^/]+") do
    part = part:gsub("~1", "/"):gsub("~0", "~")
    if type(node) ~= "table" then return nil, "no " .. ref end
    node = node[part]
  end
  if type(node) ~= "table" then return nil, "no " .. ref end
  return node
end

--- The problems of `root` as a schema of the subset: a list of lines
-- (empty when none). Every $ref must resolve; every keyword be known.
function M.check_schema(root)
  local problems, seen = {}, {}
  local function walk(s, path)
    if seen[s] then return end
    seen[s] = true
    if M.type_of(s) ~= "object" then
      problems[#problems + 1] = path .. ": a schema must be an object"
      return
    end
    for k in pairs(s) do
      if not KEYWORDS[k] then problems[#problems + 1] = format("%s: keyword %q is not in the subset", path, k) end
    end
    if s.type ~= nil then
      local names = M.type_of(s.type) == "array" and s.type or { s.type }
      for _, n in ipairs(names) do
        if not TYPES[n] then problems[#problems + 1] = format("%s: unknown type %s", path, tostring(n)) end
      end
    end
    if s["$ref"] ~= nil then
      local target, why = M.resolve(root, s["$ref"])
      if not target then problems[#problems + 1] = path .. ": " .. why end
    end
    if s.required ~= nil and M.type_of(s.required) ~= "array" then
      problems[#problems + 1] = path .. ": required must be a list"
    end
    if s.enum ~= nil and M.type_of(s.enum) ~= "array" then
      problems[#problems + 1] = path .. ": enum must be a list"
    end
    for _, key in ipairs { "properties", "$defs" } do
      if s[key] ~= nil then
        for name, sub_schema in pairs(s[key]) do walk(sub_schema, path .. "/" .. key .. "/" .. name) end
      end
    end
    if type(s.additionalProperties) == "table" then walk(s.additionalProperties, path .. "/additionalProperties") end
    if s.items ~= nil then walk(s.items, path .. "/items") end
    for _, key in ipairs { "oneOf", "anyOf" } do
      if s[key] ~= nil then
        for i, sub_schema in ipairs(s[key]) do walk(sub_schema, format("%s/%s/%d", path, key, i - 1)) end
      end
    end
  end
  walk(root, "#")
  sort(problems)
  return problems
end

local function show(v)
  local t = M.type_of(v)
  if t == "string" then return format("%q", v) end
  if t == "array" or t == "object" then return t end
  return tostring(v)
end

local function is_type(v, name)
  local t = M.type_of(v)
  if name == "number" then return t == "number" or t == "integer" end
  return t == name
end

local validate

-- Validate `v` against `s`: appends "path: message" lines to `errs`.
function validate(root, s, v, path, errs)
  if s["$ref"] then
    local target, why = M.resolve(root, s["$ref"])
    if not target then
      errs[#errs + 1] = path .. ": " .. why
      return
    end
    validate(root, target, v, path, errs)
  end
  if s.type ~= nil then
    local names = M.type_of(s.type) == "array" and s.type or { s.type }
    local ok = false
    for _, n in ipairs(names) do ok = ok or is_type(v, n) end
    if not ok then
      local t = M.type_of(v)
      errs[#errs + 1] = format("%s: %s expected, got %s%s", path, concat(names, " or "), t,
        (t ~= "array" and t ~= "object") and (" " .. show(v)) or "")
      return
    end
  end
  if s.enum ~= nil then
    local ok = false
    for _, x in ipairs(s.enum) do ok = ok or (x == v) end
    if not ok then
      local allowed = {}
      for i, x in ipairs(s.enum) do allowed[i] = show(x) end
      errs[#errs + 1] = format("%s: %s is not one of %s", path, show(v), concat(allowed, ", "))
    end
  end
  if M.type_of(v) == "object" then
    for _, name in ipairs(s.required or {}) do
      if v[name] == nil then errs[#errs + 1] = format("%s: %s is missing", path, name) end
    end
    local props = s.properties or {}
    local names = {}
    for k in pairs(v) do names[#names + 1] = k end
    sort(names)
    for _, k in ipairs(names) do
      local child = path .. "." .. k
      if props[k] ~= nil then
        validate(root, props[k], v[k], child, errs)
      elseif s.additionalProperties == false then
        errs[#errs + 1] = format("%s: a field the schema does not know", child)
      elseif type(s.additionalProperties) == "table" then
        validate(root, s.additionalProperties, v[k], child, errs)
      end
    end
  end
  if M.type_of(v) == "array" and s.items ~= nil then
    for i = 1, #v do validate(root, s.items, v[i], format("%s[%d]", path, i - 1), errs) end
  end
  for _, key in ipairs { "oneOf", "anyOf" } do
    if s[key] ~= nil then
      local matched, first = {}, {}
      for i, branch in ipairs(s[key]) do
        local e = {}
        validate(root, branch, v, path, e)
        if #e == 0 then matched[#matched + 1] = i - 1 else first[#first + 1] = format("[%d] %s", i - 1, e[1]) end
      end
      if #matched == 0 then
        errs[#errs + 1] = format("%s: matches none of %s: %s", path, key, concat(first, "; "))
      elseif key == "oneOf" and #matched > 1 then
        errs[#errs + 1] = format("%s: matches %d branches of oneOf (%s), not one", path, #matched,
          concat(matched, ", "))
      end
    end
  end
end

--- Validate the decoded value `v` against `schema` (default `root`), a
-- schema inside `root` (where its $refs point). Returns true, or nil and
-- the list of problems ("$.result.orders: array expected, got object").
function M.validate(root, v, schema)
  local errs = {}
  validate(root, schema or root, v, "$", errs)
  if #errs == 0 then return true end
  return nil, errs
end

-- Markdown

--- Is `name` a command's definition? Commands are lower-case
-- ("top-up"); the shapes they share are capitalised ("OrderQuote").
function M.is_command(name)
  return find(name, "^[a-z][a-z0-9-]*$") ~= nil
end

local function def_name(ref)
  return ref:match("^#/%$defs/(.+)$")
end

local function sorted_keys(t)
  local keys = {}
  for k in pairs(t or {}) do keys[#keys + 1] = k end
  sort(keys)
  return keys
end

-- A schema as a short type: `integer`, `OrderLine[]`, `"a" | "b"`, `object`.
local function type_text(s)
  if s["$ref"] then
    local name = def_name(s["$ref"])
    return format("[%s](#%s)", name, name:lower())
  end
  if s.enum then
    local parts = {}
    for i, x in ipairs(s.enum) do parts[i] = M.type_of(x) == "string" and format('"%s"', x) or tostring(x) end
    return concat(parts, " \\| ")
  end
  local alts = s.oneOf or s.anyOf
  if alts then
    local parts = {}
    for i, a in ipairs(alts) do parts[i] = type_text(a) end
    return concat(parts, " \\| ")
  end
  local t = s.type
  if M.type_of(t) == "array" then t = concat(t, " \\| ") end
  if t == "array" then
    local item = s.items and type_text(s.items) or "any"
    if find(item, " ") then item = "(" .. item .. ")" end
    return item .. "[]"
  end
  if t == "object" and s.properties == nil then return "object (open)" end
  return t or "any"
end

local function one_line(text)
  return ((text or ""):gsub("%s+", " "):gsub("|", "\\|"))
end

-- The table of an object schema's fields.
local function fields_table(s, out)
  local required = {}
  for _, r in ipairs(s.required or {}) do required[r] = true end
  out[#out + 1] = "| field | type | always | meaning |"
  out[#out + 1] = "|---|---|---|---|"
  for _, k in ipairs(sorted_keys(s.properties)) do
    local p = s.properties[k]
    out[#out + 1] = format("| `%s` | %s | %s | %s |", k, type_text(p), required[k] and "yes" or "",
      one_line(p.description))
  end
end

-- The result of one success document (an envelope), and its other fields.
local function envelope_text(env)
  local props = env.properties or {}
  local extra = {}
  for _, k in ipairs(sorted_keys(props)) do
    if k ~= "ok" and k ~= "command" and k ~= "result" then
      extra[#extra + 1] = format("`%s`: %s", k, type_text(props[k]))
    end
  end
  local result = props.result or {}
  local text = type_text(result)
  if result.description and not result["$ref"] then text = text .. " (" .. one_line(result.description) .. ")" end
  return text, extra
end

--- The commands' definitions, in the order of the schema's top-level
-- oneOf: their names.
function M.commands(root)
  local names = {}
  for _, branch in ipairs(root.oneOf or {}) do
    local name = branch["$ref"] and def_name(branch["$ref"])
    if name and M.is_command(name) then names[#names + 1] = name end
  end
  return names
end

--- The Markdown of `root`: per command (lower-case definitions, in the
-- order of the top-level oneOf) its `result`, then the shared shapes'
-- fields. docs/json-output.md holds it between its markers, as printed.
function M.markdown(root)
  local defs = root["$defs"] or {}
  local out = { "## The commands' results", "" }
  for _, name in ipairs(M.commands(root)) do
    if defs[name] then
      local d = defs[name]
      out[#out + 1] = format("### `%s`", name)
      out[#out + 1] = ""
      if d.description then
        out[#out + 1] = one_line(d.description)
        out[#out + 1] = ""
      end
      if d.oneOf then
        for _, env in ipairs(d.oneOf) do
          local result, extra = envelope_text(env)
          out[#out + 1] = format("- %s`result`: %s%s", env.description and (one_line(env.description) .. ": ") or "",
            result, #extra > 0 and (" (with " .. concat(extra, ", ") .. ")") or "")
        end
      else
        local result, extra = envelope_text(d)
        out[#out + 1] = format("- `result`: %s%s", result,
          #extra > 0 and (" (with " .. concat(extra, ", ") .. ")") or "")
      end
      out[#out + 1] = ""
    end
  end
  out[#out + 1] = "## The shapes"
  out[#out + 1] = ""
  for _, name in ipairs(sorted_keys(defs)) do
    if not M.is_command(name) then
      local d = defs[name]
      out[#out + 1] = format("### %s", name)
      out[#out + 1] = ""
      if d.description then
        out[#out + 1] = one_line(d.description)
        out[#out + 1] = ""
      end
      if d.properties then
        fields_table(d, out)
      else
        out[#out + 1] = "Type: " .. type_text(d)
      end
      out[#out + 1] = ""
    end
  end
  return (concat(out, "\n"):gsub("\n+$", ""))
end

M.BEGIN = "<!-- BEGIN generated from docs/json-output.schema.json: "
  .. "lua5.4 spec/support/json_schema.lua docs/json-output.schema.json -->"
M.END = "<!-- END generated -->"

--- The generated part of a Markdown text (between the markers), or nil.
function M.generated_part(text)
  local b = find(text, M.BEGIN, 1, true)
  local e = find(text, M.END, 1, true)
  if not b or not e then return nil end
  return (sub(text, b + #M.BEGIN, e - 1):gsub("^\n+", ""):gsub("\n+$", ""))
end

-- As a script: the Markdown of the schema file given.
local script = rawget(_G, "arg")
if ... ~= "support.json_schema" and type(script) == "table" and type(script[0]) == "string"
    and script[0]:find("json_schema%.lua$") then
  local path = script[1] or "docs/json-output.schema.json"
  io.write(M.BEGIN, "\n\n", M.markdown(M.load(path)), "\n\n", M.END, "\n")
end

return M
