-- wrk script, journey (b): a live show's buyers placing orders through POST /api/orders.
-- Every request is a JSON order with its own Idempotency-Key and buyer phone, cash on
-- delivery; one in LOAD_HOT_EVERY (default 10) buys the hot flash-deal SKU, the others
-- 1-3 units of a random SKU of the shop.
-- Environment: LOAD_LUA_DIR, LOAD_SHOP (handle), LOAD_SKU_IDS (ids, comma-separated),
-- LOAD_HOT_SKU, LOAD_DEAL, optionally LOAD_HOT_EVERY, and LOAD_ACK_FILE: when set,
-- the reference of every order acknowledged with a 2xx answer is appended to
-- LOAD_ACK_FILE.<thread> (one per line, flushed at once), so that a crash test can
-- check afterwards that every acknowledged order is in the database.
local common = dofile(os.getenv("LOAD_LUA_DIR") .. "/common.lua")

local shop = os.getenv("LOAD_SHOP")
local skus = common.split(os.getenv("LOAD_SKU_IDS"), ",")
local hot = os.getenv("LOAD_HOT_SKU")
local deal = os.getenv("LOAD_DEAL")
local hot_every = tonumber(os.getenv("LOAD_HOT_EVERY") or "10")
local ack_path = os.getenv("LOAD_ACK_FILE")
local counter = 0
local ack_file = nil

request = function()
  counter = counter + 1
  local key = string.format("load-%d-%d-%d-%d", thread_id, counter, os.time(), math.random(1, 1000000000))
  local phone = string.format("13%09d", math.random(0, 999999999))
  local line
  if counter % hot_every == 0 then
    line = string.format('{"sku_id":%s,"quantity":1,"deal_id":%s}', hot, deal)
  else
    line = string.format('{"sku_id":%s,"quantity":%d}', skus[math.random(#skus)], math.random(1, 3))
  end
  local body = string.format(
    '{"shop":"%s","lines":[%s],"buyer":{"name":"Load Buyer","phone":"%s","address":"100 Load Test Road, Hangzhou"},"payment":{"method":"cod"}}',
    shop, line, phone)
  return wrk.format("POST", "/api/orders", {
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = key,
  }, body)
end

local function record(status, headers, body)
  if ack_path == nil or status < 200 or status > 299 then return end
  local reference = string.match(body or "", '"reference"%s*:%s*"([^"]+)"')
  if reference == nil then return end
  if ack_file == nil then
    ack_file = io.open(ack_path .. "." .. tostring(thread_id), "a")
  end
  ack_file:write(reference, "\n")
  ack_file:flush()
end

common.install("buyers", record)
