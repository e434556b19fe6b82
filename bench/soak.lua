-- wrk script for the soak: mostly purpose checks of known people, with writes mixed in (a new
-- person with a record, a request filed for a known person) and a page of the request queue.
local key = os.getenv("OMBUD_BENCH_KEY")
local subjects = tonumber(os.getenv("OMBUD_BENCH_SUBJECTS") or "20000")
local counter = 0
local thread_id = 0

setup = function(thread)
  thread_id = thread_id + 1
  thread:set("id", thread_id)
end

local function auth(extra)
  local headers = { ["Authorization"] = "Bearer " .. key }
  if extra then
    headers["Content-Type"] = "application/json"
  end
  return headers
end

request = function()
  counter = counter + 1
  local roll = math.random(1, 100)
  local n = math.random(0, subjects - 1)
  if roll <= 80 then
    return wrk.format("GET", "/api/v1/check?identity=email:person" .. n .. "@example.com&purpose=consent-marketing", auth())
  elseif roll <= 90 then
    local email = "soak" .. id .. "-" .. counter .. "@example.com"
    local body = '{"identities":[{"kind":"email","value":"' .. email .. '"}]}'
    return wrk.format("POST", "/api/v1/subjects", auth(true), body)
  elseif roll <= 95 then
    return wrk.format("GET", "/api/v1/requests?limit=20", auth())
  else
    local body = '{"kind":"access","email":"person' .. n .. '@example.com"}'
    return wrk.format("POST", "/api/v1/requests", auth(true), body)
  end
end

response = function(status, headers, body)
  if status >= 500 then
    io.stderr:write("server error " .. status .. "\n")
  end
end
