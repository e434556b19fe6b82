-- wrk script for GET /api/v1/subjects/{id}/records?purpose=invoicing: a random known person each
-- request, read from the file of subject ids OMBUD_BENCH_IDS names (one id a line).
local key = os.getenv("OMBUD_BENCH_KEY")
local ids = {}

init = function(args)
  for line in io.lines(os.getenv("OMBUD_BENCH_IDS")) do
    ids[#ids + 1] = line
  end
end

request = function()
  local id = ids[math.random(1, #ids)]
  return wrk.format("GET", "/api/v1/subjects/" .. id .. "/records?purpose=invoicing",
    { ["Authorization"] = "Bearer " .. key })
end

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
