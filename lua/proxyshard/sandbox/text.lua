--- UTF-8 checks for what the sandbox takes in and keeps: every answer and
-- the control dumps are JSON, which must be valid UTF-8, and the sandbox
-- echoes what it was sent (the request log, tags, names). So text that is
-- not UTF-8 is refused at the door (proxyshard.sandbox.server), and what
-- the request log shortens is cut between characters, never inside one.
--
-- Plain Lua 5.1 string functions (no `utf8` library), so LuaJIT runs it too.
local find, byte = string.find, string.byte

local M = {}

-- Bounds of the second byte after each lead byte (RFC 3629, section 4):
-- they rule out overlong forms, UTF-16 surrogates and anything past
-- U+10FFFF. Lead bytes not here (80-C1, F5-FF) never start a character.
local SECOND = {}
for b = 0xC2, 0xDF do SECOND[b] = { 1, 0x80, 0xBF } end
SECOND[0xE0] = { 2, 0xA0, 0xBF }
for b = 0xE1, 0xEC do SECOND[b] = { 2, 0x80, 0xBF } end
SECOND[0xED] = { 2, 0x80, 0x9F }
SECOND[0xEE], SECOND[0xEF] = { 2, 0x80, 0xBF }, { 2, 0x80, 0xBF }
SECOND[0xF0] = { 3, 0x90, 0xBF }
for b = 0xF1, 0xF3 do SECOND[b] = { 3, 0x80, 0xBF } end
SECOND[0xF4] = { 3, 0x80, 0x8F }

--- Is `s` valid UTF-8? ASCII runs are skipped with one `find` each, so
-- the usual all-ASCII body costs a single scan.
function M.is_utf8(s)
  local i = 1
  while true do
    local at = find(s, "[\128-\255]", i)
    if not at then return true end
    local rule = SECOND[byte(s, at)]
    if not rule then return false end
    local b = byte(s, at + 1)
    if not b or b < rule[2] or b > rule[3] then return false end
    for k = 2, rule[1] do
      b = byte(s, at + k)
      if not b or b < 0x80 or b > 0xBF then return false end
    end
    i = at + rule[1] + 1
  end
end

--- The longest start of `s` of at most `n` bytes that does not end inside
-- a character: the cut moves back over continuation bytes (80-BF).
function M.prefix(s, n)
  if #s <= n then return s end
  local cut = n
  while cut > 0 do
    local b = byte(s, cut + 1)
    if b < 0x80 or b > 0xBF then break end
    cut = cut - 1
  end
  return s:sub(1, cut)
end

return M
