--- What setting signatures returned: the number of IPs updated — the
-- answer's `updated`, or, when it leaves it out, the number sent (a
-- success with no count updated them all).
local M = {}

--- The number of IPs updated, from the answer `r` (else the items of `values`).
function M.new(r, values)
  return r.updated or #values.items
end

return M
