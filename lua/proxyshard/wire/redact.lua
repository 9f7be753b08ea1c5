--- Keeping the token out of text that came from elsewhere: error bodies,
-- server messages, hook events. A server may echo the token back in any
-- spelling, so a redactor finds it as written, JSON-escaped (`\/`,
-- `\u0041`) and percent-encoded (`%2F`), in any mix, and replaces each
-- occurrence whole. Redact before cutting a text short: a cut through the
-- middle of the token would leave its first half behind.
local sub = string.sub
local byte = string.byte
local char = string.char
local find = string.find
local concat = table.concat
local tonumber = tonumber

local M = {}

M.MARK = "[redacted]"

-- The shortest token a client takes (proxyshard.check.settings refuses a
-- shorter one): a short value such as "t" would turn every message into
-- confetti, and real tokens are long. The redactor of a shorter text is the
-- identity.
M.MIN_TOKEN = 8

local JSON_SIMPLE = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

-- The byte that the spelling starting at `i` stands for, and where the
-- next one starts: a plain byte, `\x` / `\uXXXX` (JSON), or `%XX` (URL).
local function decode_at(text, i)
  local c = sub(text, i, i)
  if c == "\\" then
    local e = sub(text, i + 1, i + 1)
    if JSON_SIMPLE[e] then return JSON_SIMPLE[e], i + 2 end
    if e == "u" then
      local hex = sub(text, i + 2, i + 5)
      local n = #hex == 4 and find(hex, "^%x%x%x%x$") and tonumber(hex, 16)
      if n and n < 256 then return char(n), i + 6 end
    end
  elseif c == "%" then
    local hex = sub(text, i + 1, i + 2)
    if find(hex, "^%x%x$") then return char(tonumber(hex, 16)), i + 3 end
  end
  return c, i + 1
end

-- Does the token start at `i` in some spelling? Returns the end + 1.
local function match_at(text, i, token)
  for k = 1, #token do
    if i > #text then return nil end
    local c
    c, i = decode_at(text, i)
    if byte(c) ~= byte(token, k) then return nil end
  end
  return i
end

--- A function text -> text with every spelling of `token` replaced by MARK.
function M.new(token)
  if #token < M.MIN_TOKEN then return function(text) return text end end
  local first = sub(token, 1, 1)
  -- where a spelling of the token can start: its first byte, or an escape
  local starts = "[" .. (find(first, "%W") and "%" .. first or first) .. "\\%%]"
  return function(text)
    if text == nil then return nil end
    -- Speed: with no escape in the text the token can only be there as
    -- written, which a plain search finds (answers are scanned whole)
    -- (plain searches: a pattern's class costs far more per byte)
    if not find(text, "\\", 1, true) and not find(text, "%", 1, true) and not find(text, token, 1, true) then
      return text
    end
    local out, from, i = {}, 1, find(text, starts)
    while i do
      local j = match_at(text, i, token)
      if j then
        out[#out + 1] = sub(text, from, i - 1)
        out[#out + 1] = M.MARK
        from, i = j, j
      else
        i = i + 1
      end
      i = find(text, starts, i)
    end
    if from == 1 then return text end
    out[#out + 1] = sub(text, from)
    return concat(out)
  end
end

return M
