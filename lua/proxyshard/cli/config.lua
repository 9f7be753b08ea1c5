--- The command's config file: named profiles of settings, so that
-- switching between the live API and the sandbox (or two accounts) is a
-- flag, not a juggling of variables.
--
--   $XDG_CONFIG_HOME/proxyshard/config   (default ~/.config/proxyshard/config;
--                                         PROXYSHARD_CONFIG names another)
--
--   # a comment
--   [default]
--   token_file = ~/.config/proxyshard/live-token
--   timeout = 20
--
--   [sandbox]
--   base_url = http://127.0.0.1:8089
--
-- A section is a profile; `--profile NAME` (or PROXYSHARD_PROFILE) picks
-- one, else `default` is used (a missing file, or a file without that
-- section, is no error for `default`). Keys: base_url, token_file,
-- timeout, connect_timeout, proxy, ca_file, allow_insecure (true/false),
-- state_dir, lock_wait. "~/" at the start of a path is the home directory.
-- A value given as a flag wins over the environment, which wins over the
-- profile, which wins over the default.
-- @module proxyshard.cli.config
local errors = require "proxyshard.errors"
local options = require "proxyshard.check.options"

local format = string.format
local match = string.match
local tonumber = tonumber

local M = {}

--- The keys a profile may set, and how each is read from its text.
M.KEYS = {
  base_url = "text", token_file = "path", timeout = "seconds", connect_timeout = "seconds", proxy = "text",
  ca_file = "path", allow_insecure = "boolean", state_dir = "path", lock_wait = "wait",
}

--- The file's path for the environment `getenv`.
function M.path(getenv)
  local named = getenv("PROXYSHARD_CONFIG")
  if named and named ~= "" then return named end
  local xdg = getenv("XDG_CONFIG_HOME")
  if xdg and xdg ~= "" then return xdg .. "/proxyshard/config" end
  local home = getenv("HOME")
  if home and home ~= "" then return home .. "/.config/proxyshard/config" end
  return nil
end

local function value_of(kind, text, home, where)
  if kind == "path" then
    if home and text:sub(1, 2) == "~/" then return home .. text:sub(2) end
    return text
  elseif kind == "seconds" then
    local n = tonumber(text)
    if not n or n <= 0 then return nil, where .. " must be a number of seconds, got " .. text end
    return n
  elseif kind == "wait" then
    local n = tonumber(text)
    if not n or n < 0 then return nil, where .. " must be a number of seconds (0: no wait), got " .. text end
    return n
  elseif kind == "boolean" then
    if text == "true" or text == "yes" or text == "on" then return true end
    if text == "false" or text == "no" or text == "off" then return false end
    return nil, where .. " must be true or false, got " .. text
  end
  return text
end

--- The setting `key` (of M.KEYS) read from `text` as the file has it
-- ("~/" the home directory `home`): the value, or nil and why (starting
-- with `where`).
function M.value(key, text, home, where)
  return value_of(M.KEYS[key] or "text", text, home, where)
end

--- The profiles of the config text `text` (from the file `path`, for
-- messages): name -> { key = value }; or nil, err naming the line.
function M.parse(text, path, home)
  local profiles, current = {}, nil
  local n = 0
  for line in (text .. "\n"):gmatch("([^\n]*)\n") do
    n = n + 1
    local where = format("%s:%d", path, n)
    line = match(line, "^%s*(.-)%s*$")
    if line ~= "" and not line:find("^[#;]") then
      local section = match(line, "^%[%s*([%w_.-]+)%s*%]$")
      if section then
        current = profiles[section] or {}
        profiles[section] = current
      else
        local key, value = match(line, "^([%w_]+)%s*=%s*(.-)$")
        if not key then
          return nil, errors.invalid("config", format("%s: expected [profile] or key = value, got %q", where, line))
        end
        if not current then
          return nil, errors.invalid("config", format("%s: %s comes before any [profile]", where, key))
        end
        local kind = M.KEYS[key]
        if not kind then
          local hint = options.closest(key, M.KEYS)
          return nil, errors.invalid("config", format("%s: unknown key %q%s", where, key,
            hint and format(' (did you mean "%s"?)', hint) or ""))
        end
        local v, why = value_of(kind, value, home, where .. ": " .. key)
        if v == nil then return nil, errors.invalid("config", why) end
        current[key] = v
      end
    end
  end
  return profiles
end

--- The profile for this run: its settings (a table, empty when there is
-- none), its name and the file; or nil, err. `name` is the profile asked
-- for (--profile, else PROXYSHARD_PROFILE), nil for `default`.
function M.load(sys, name)
  local path = M.path(sys.getenv)
  local f = path and sys.open(path, "r")
  if not f then
    if name then
      return nil, errors.invalid("--profile", format("%s: there is no config file%s", name,
        path and (" (" .. path .. ")") or ""))
    end
    return {}, "default", path
  end
  local text = f:read("*a")
  f:close()
  local profiles, err = M.parse(text, path, sys.getenv("HOME"))
  if not profiles then return nil, err end
  local chosen = profiles[name or "default"]
  if not chosen then
    if not name then return {}, "default", path end
    local known = {}
    for k in pairs(profiles) do known[k] = true end
    local hint = options.closest(name, known)
    return nil, errors.invalid("--profile", format("%s is not a profile of %s%s", name, path,
      hint and format(' (did you mean "%s"?)', hint) or ""))
  end
  return chosen, name or "default", path
end

return M
