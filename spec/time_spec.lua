-- proxyshard.wire.time: the API's ISO 8601 dates as UTC seconds, exact
-- for any Gregorian date and on every Lua (no os.time: it is local time).
local time = require "proxyshard.wire.time"

describe("wire.time", function()
  it("reads UTC dates, with a fraction or an offset", function()
    assert.are.equal(0, time.parse("1970-01-01T00:00:00Z"))
    assert.are.equal(1796115600, time.parse("2026-12-01T09:00:00Z"))
    assert.are.equal(1796115600, time.parse("2026-12-01T09:00:00.250Z"))
    assert.are.equal(1796115600, time.parse("2026-12-01T11:00:00+02:00"))
    assert.are.equal(1796115600, time.parse("2026-12-01T04:30:00-0430"))
    assert.are.equal(951782400, time.parse("2000-02-29T00:00:00Z")) -- a leap day of a century's leap year
    assert.are.equal(-86400, time.parse("1969-12-31T00:00:00Z"))
  end)

  it("refuses what is not a date-time", function()
    for _, s in ipairs { "", "2026-12-01", "2026-13-01T00:00:00Z", "2026-12-01T24:00:00Z", "2026-12-01T09:00:00+2",
        "soon", 5 } do
      assert.is_nil(time.parse(s), tostring(s))
    end
  end)

  it("counts whole days left, rounded down: 0 on the last day, negative once past", function()
    local now = time.parse("2026-11-25T12:00:00Z")
    assert.are.equal(5, time.days_left("2026-12-01T09:00:00Z", now))
    assert.are.equal(0, time.days_left("2026-11-25T23:59:59Z", now))
    assert.are.equal(-1, time.days_left("2026-11-25T11:59:59Z", now))
    assert.is_nil(time.days_left(nil, now))
  end)

  it("goes from days to dates and back for four centuries", function()
    for z = -146097, 146097, 97 do
      local y, m, d = time.civil_from_days(z)
      assert.are.equal(z, time.days_from_civil(y, m, d))
    end
  end)
end)
