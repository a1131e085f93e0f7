-- wrk script: POST a ~200-byte message with a unique Idempotency-Key per request.
local threads = 0
function setup(thread)
  thread:set("id", threads)
  threads = threads + 1
end

local counter = 0
local body = '{"body":"' .. string.rep("How are you feeling today? ", 7) .. '"}'
local token = os.getenv("PG_TOKEN")

function request()
  counter = counter + 1
  return wrk.format("POST", "/v1/conversations/usr_therapist/messages", {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = "bench-" .. id .. "-" .. counter,
  }, body)
end
