-- docs/operations.md against the code: the places it lists for a new
-- operation are all there are. No module outside them keeps a table keyed
-- by an operation ("order.renew"), and a row added to the table alone is a
-- method, a command, a help text and a line of the library guide's call
-- table (docs/library.md).
local shell = require "support.shell"

local ROOT = shell.run("pwd"):gsub("%s+$", "")

-- The places the document lists, between its markers.
local function places()
  local doc = assert(shell.read_file(ROOT .. "/docs/operations.md"))
  local block = assert(doc:match("<!%-%- places:begin %-%->(.-)<!%-%- places:end %-%->"), "no places list")
  local out = {}
  for cell in block:gmatch("\n| ([^|]+) |") do
    for path in cell:gmatch("`([^`]+)`") do out[#out + 1] = path end
  end
  return out
end

-- Is `file` (a path from the checkout) one of `listed` or under one?
local function listed_place(file, listed)
  for _, p in ipairs(listed) do
    if file == p or (p:sub(-1) == "/" and file:sub(1, #p) == p) then return true end
  end
  return false
end

describe("docs/operations.md", function()
  it("lists places that exist", function()
    local list = places()
    assert.is_true(#list >= 8, "too few places: " .. table.concat(list, ", "))
    for _, p in ipairs(list) do
      local _, ok = shell.run("test -e " .. shell.q(ROOT .. "/" .. p))
      assert.is_true(ok, p .. " does not exist")
    end
  end)

  it("lists every module that names an operation: nothing else keeps a table keyed by one", function()
    local operations = require "proxyshard.operations"
    local keys = {}
    for _, row in ipairs(operations.rows) do keys[row.handle .. "." .. row.name] = true end
    local list = places()
    local found = {}
    local files = shell.run("cd " .. shell.q(ROOT) .. " && find lua -name '*.lua' | sort")
    for file in files:gmatch("[^\n]+") do
      if not listed_place(file, list) then
        local text = assert(shell.read_file(ROOT .. "/" .. file))
        for line in text:gmatch("[^\n]+") do
          if not line:match("^%s*%-%-") then -- comments may give one as an example
            for key in line:gmatch('"([%a_]+%.[%a_]+)"') do
              if keys[key] then found[#found + 1] = file .. ": " .. key end
            end
          end
        end
      end
    end
    assert.are.same({}, found)
  end)

  it("is right that a row is enough: the method, the command, help() and the guide's table follow", function()
    -- in a child process: the row is added before anything is made from the table
    local script = [[
      package.path = "lua/?.lua;lua/?/init.lua;" .. package.path
      package.cpath = "build/lib/?.so;" .. package.cpath
      local operations = require "proxyshard.operations"
      local row = { name = "remove_ip", handle = "order", method = "POST",
        path = "/user/api/orders/{order_id}/ips/remove", class = "write",
        summary = "remove one IP from the order now", args = { "ip" },
        params = { { name = "order_id", wire = "order_id", at = "path", check = "id", required = true,
          bound = "order" }, { name = "ip", wire = "ip", at = "body", check = "ip", required = true } },
        answer = { success = "boolean", message = "string" }, model = "ack",
        example = 'client:order(12345):remove_ip("203.0.113.7")' }
      operations.rows[#operations.rows + 1] = row
      table.insert(operations.by_handle.order, row)
      operations.by_handle.order.remove_ip = row
      local sent
      local client = require("proxyshard").new { token = "tok-doc-spec", transport = { request = function(_, req)
        sent = req
        return { status = 200, headers = { ["content-type"] = "application/json" },
          body = '{"success":true,"message":"IP removed"}' }
      end } }
      local ack = assert(client:order(12345):remove_ip("2001:db8::1"))
      print("method", tostring(ack), sent.method, sent.url, sent.body)
      local commands = require "proxyshard.cli.commands"
      print("command", commands.usage(assert(commands.find("remove-ip"))))
      print("help", (require("proxyshard.help").text("remove_ip"):match("^[^\n]*")))
      dofile("scripts/api-reference.lua") -- prints the guide's call table
    ]]
    local dir = shell.tmpdir("operations-doc")
    shell.write_file(dir .. "/add.lua", script)
    local out, ok = shell.run("cd " .. shell.q(ROOT) .. " && lua5.4 " .. shell.q(dir .. "/add.lua") .. " 2>&1")
    shell.sh("rm -rf " .. shell.q(dir))
    assert.is_true(ok, out)
    assert.matches("method\tremove_ip: done %(IP removed%)\tPOST\t[^\t]*/user/api/orders/12345/ips/remove\t"
      .. '{"ip":"2001:db8::1"}', out)
    assert.matches("command\tproxyshard remove%-ip ORDER_ID IP\n", out)
    assert.matches("help\torder:remove_ip%(ip %[, opts%]%)    POST /user/api/orders/{order_id}/ips/remove", out)
    assert.truthy(out:find("\n| `order:remove_ip(ip [, opts])` | `POST /user/api/orders/{order_id}/ips/remove` | "
      .. "remove one IP from the order now |\n", 1, true), out)
  end)
end)
