--- Is `v` an exact integer as this runtime has them? On Lua 5.4 it must be
-- of the integer subtype (what the library promises there); on LuaJIT,
-- which has only doubles, an integral number.
return function(v)
  if math.type then return math.type(v) == "integer" end
  return type(v) == "number" and v == math.floor(v)
end
