-- wrk script for GET /api/v1/check: a random known person each request, half of whom consented.
local key = os.getenv("OMBUD_BENCH_KEY")
local subjects = tonumber(os.getenv("OMBUD_BENCH_SUBJECTS") or "100000")

request = function()
  local n = math.random(0, subjects - 1)
  return wrk.format("GET", "/api/v1/check?identity=email:person" .. n .. "@example.com&purpose=consent-marketing",
    { ["Authorization"] = "Bearer " .. key })
end

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
