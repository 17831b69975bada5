-- wrk script for benches/order_placement.rs: one JSON order per request, each with its
-- own Idempotency-Key and buyer; one request in ten buys the hot flash-deal SKU.
local shop = os.getenv("KAIBO_SHOP")
local skus = {}
for id in string.gmatch(os.getenv("KAIBO_SKUS"), "[^,]+") do table.insert(skus, id) end
local hot = os.getenv("KAIBO_HOT_SKU")
local deal = os.getenv("KAIBO_DEAL")
local counter = 0
local next_thread = 0

function setup(thread)
  thread:set("thread_id", next_thread)
  next_thread = next_thread + 1
end

-- `thread_id` is a global set by setup() in each thread's own Lua state.
function init(args)
  math.randomseed(os.time() + (thread_id or 0) * 7919)
end

request = function()
  counter = counter + 1
  local key = string.format("bench-%d-%d-%d", thread_id, counter, math.random(1, 1000000000))
  local phone = string.format("13%09d", math.random(0, 999999999))
  local line
  if counter % 10 == 0 then
    line = string.format('{"sku_id":%s,"quantity":1,"deal_id":%s}', hot, deal)
  else
    line = string.format('{"sku_id":%s,"quantity":%d}', skus[math.random(2, #skus)], math.random(1, 3))
  end
  local body = string.format(
    '{"shop":"%s","lines":[%s],"buyer":{"name":"Bench Buyer","phone":"%s","address":"100 Benchmark Road, Hangzhou"},"payment":{"method":"cod"}}',
    shop, line, phone)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }, body)
end
