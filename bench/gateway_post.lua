-- wrk script: POST a chat completion with a bearer key; BENCH_KEY, BENCH_STREAM and BENCH_PATH come from the
-- environment so one script drives the mock directly and the gateway.
local key = os.getenv("BENCH_KEY") or "none"
local stream = os.getenv("BENCH_STREAM") == "1"
local model = os.getenv("BENCH_MODEL") or "mock-small"
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/v1/chat/completions"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key
local options = stream and ', "stream": true' or ""
wrk.body = '{"model": "' .. model .. '", "max_tokens": 64, "messages": [{"role": "user", "content": '
  .. '"Summarise the benefits of connection pooling in two sentences."}]' .. options .. '}'

function response(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. ": " .. body:sub(1, 200) .. "\n")
  end
end
