-- Shared by the wrk scripts in benches/load/: counts answers by status code in every
-- thread and prints one machine-readable RESULT line when wrk finishes, with the
-- throughput, p50 / p99 / p99.9 latency and the errors. scripts/load.sh parses it.
--
-- A journey script starts with
--     local common = dofile(os.getenv("LOAD_LUA_DIR") .. "/common.lua")
-- and ends with `common.install("name")`, which defines wrk's setup(), init(), response()
-- and done(). It may pass a function called with (status, headers, body) for each answer.

local M = {}

-- Splits `text` on the single character `sep` (no patterns), skipping empty parts.
function M.split(text, sep)
  local parts = {}
  if text == nil then return parts end
  local start = 1
  while true do
    local i = string.find(text, sep, start, true)
    local part = string.sub(text, start, (i or 0) - 1)
    if i == nil then part = string.sub(text, start) end
    if part ~= "" then table.insert(parts, part) end
    if i == nil then break end
    start = i + 1
  end
  return parts
end

function M.urlencode(text)
  return (string.gsub(text, "[^%w%-%._~]", function(c)
    return string.format("%%%02X", string.byte(c))
  end))
end

-- Sessions from the environment: "cookie header|csrf token,cookie header|csrf token,...".
function M.sessions(var)
  local list = {}
  for _, entry in ipairs(M.split(os.getenv(var) or "", ",")) do
    local bar = string.find(entry, "|", 1, true)
    table.insert(list, {
      cookie = string.sub(entry, 1, bar - 1),
      csrf = M.urlencode(string.sub(entry, bar + 1)),
    })
  end
  assert(#list > 0, var .. " is empty")
  return list
end

function M.install(name, on_response)
  local threads = {}
  local next_id = 0

  -- Main state: one call per thread before it starts.
  setup = function(thread)
    thread:set("thread_id", next_id)
    next_id = next_id + 1
    table.insert(threads, thread)
  end

  -- Thread state: `thread_id` is a global set by setup().
  init = function(args)
    math.randomseed(os.time() + (thread_id or 0) * 7919 + string.len(name) * 104729)
    codes = {}
  end

  response = function(status, headers, body)
    codes[status] = (codes[status] or 0) + 1
    if on_response then on_response(status, headers, body) end
  end

  done = function(summary, latency, requests)
    local total = {}
    for _, thread in ipairs(threads) do
      local c = thread:get("codes") or {}
      for code, n in pairs(c) do total[code] = (total[code] or 0) + n end
    end
    local class = { 0, 0, 0, 0, 0 }
    local list = {}
    for code, n in pairs(total) do
      local k = math.floor(code / 100)
      if k >= 1 and k <= 5 then class[k] = class[k] + n end
      table.insert(list, string.format("%d:%d", code, n))
    end
    table.sort(list)
    local seconds = summary.duration / 1e6
    local e = summary.errors
    io.write(string.format(
      "RESULT journey=%s requests=%d seconds=%.1f rps=%.1f p50_ms=%.2f p99_ms=%.2f p999_ms=%.2f max_ms=%.2f " ..
      "s2xx=%d s3xx=%d s4xx=%d s5xx=%d connect_errors=%d read_errors=%d write_errors=%d timeouts=%d codes=%s\n",
      name, summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000,
      latency.max / 1000,
      class[2], class[3], class[4], class[5], e.connect, e.read, e.write, e.timeout,
      (#list > 0) and table.concat(list, ",") or "-"))
  end
end

return M
