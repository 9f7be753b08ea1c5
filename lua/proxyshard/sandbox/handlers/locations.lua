--- Targeting: countries, regions, cities and ISPs, from the fixture's
-- `locations` (the same for both proxy types). Codes are compared without
-- regard to case (clients lower-case them); a code the fixture does not
-- know gives an empty list, `count` 0, as the API answers for a place it
-- has nothing for. ISPs are for the premium proxy type only.
local json = require "proxyshard.wire.json"
local reply = require "proxyshard.sandbox.reply"

local H = {}

local function find(list, code)
  code = code:lower()
  for _, x in ipairs(list or {}) do
    if x.code:lower() == code then return x end
  end
  return nil
end

local function ref(x)
  return { code = x.code, name = x.name }
end

local function paged(list, item)
  local results = json.array()
  for i, x in ipairs(list or {}) do results[i] = item(x) end
  return { count = #results, results = results }
end

H["residential.countries"] = function(sb)
  return paged(sb.fixture.locations, ref)
end

H["residential.regions"] = function(sb, v)
  local country = find(sb.fixture.locations, v.country)
  return paged(country and country.regions, function(r)
    return { code = r.code, name = r.name, country = ref(country) }
  end)
end

local function region_of(sb, v)
  local country = find(sb.fixture.locations, v.country)
  return country, country and find(country.regions, v.region)
end

H["residential.cities"] = function(sb, v)
  local country, region = region_of(sb, v)
  return paged(region and region.cities, function(c)
    return { code = c.code, name = c.name, country = ref(country), region = ref(region) }
  end)
end

H["residential.isps"] = function(sb, v)
  if v.proxy_type ~= "premium" then reply.bad("ISP targeting is available for the premium package only") end
  local country, region = region_of(sb, v)
  local city = region and find(region.cities, v.city)
  return paged(city and city.isps, function(isp)
    return { code = isp.code, name = isp.name, country = ref(country), region = ref(region) }
  end)
end

return H
