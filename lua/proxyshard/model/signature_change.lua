--- What setting signatures returned: the number of IPs updated — the
-- answer's `updated`, or, when it leaves it out, the number sent (a
-- success with no count updated them all).
local M = {}

function M.new(r, ctx)
  return r.updated or #ctx.values.items
end

return M
