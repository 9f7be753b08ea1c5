--- Response headers as the transport interface hands them over (see
-- docs/transport.md): lower-case names, a repeated header's values joined
-- with ", ". nginx's APIs give mixed-case names and tables for repeats.
local pairs = pairs
local type = type
local lower = string.lower
local concat = table.concat

return function(raw)
  local out = {}
  for name, value in pairs(raw or {}) do
    if type(value) == "table" then value = concat(value, ", ") end
    out[lower(name)] = value
  end
  return out
end
