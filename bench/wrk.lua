-- The load of every scenario of bench/run.py, for wrk (https://github.com/wg/wrk, 4.x; LuaJIT):
--   wrk -s bench/wrk.lua URL -- SCENARIO DATA_FILE
-- DATA_FILE has one "kind value" pair a line: "product 17", "token <access token>", "word beans".
-- At the end it prints one line, "bench-result <JSON>", with the latency percentiles and the responses by
-- status, which wrk's own summary leaves out.

local scenario
local data = {}
local sent = 0
statuses = {}  -- global: done() reads each thread's copy through thread:get

local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_number", #threads)
end

function init(args)
  scenario = args[1]
  for line in io.lines(args[2]) do
    local kind, value = line:match("^(%S+) (.+)$")
    data[kind] = data[kind] or {}
    table.insert(data[kind], value)
  end
  math.randomseed(os.time() * 1000 + thread_number)
end

local function pick(kind)
  local values = data[kind]
  return values[math.random(#values)]
end

local function authorized(extra)
  local headers = {["Authorization"] = "Bearer " .. pick("token")}
  for name, value in pairs(extra or {}) do headers[name] = value end
  return headers
end

local function place_order()
  local first, second = pick("product"), pick("product")
  while second == first and #data.product > 1 do second = pick("product") end
  local body = string.format(
    '{"items": [{"product_id": %s, "quantity": 1}, {"product_id": %s, "quantity": 1}]}', first, second)
  local key = string.format("bench-%d-%d-%d", thread_number, sent, math.random(1e9))
  return wrk.format("POST", "/api/v1/orders",
    authorized({["Content-Type"] = "application/json", ["Idempotency-Key"] = key}), body)
end

-- a shopper: browses, opens a product, searches, orders, then looks at their orders
local shopper_steps = {
  function() return wrk.format("GET", "/api/v1/products?limit=20&offset=" .. math.random(0, 20)) end,
  function() return wrk.format("GET", "/api/v1/products/" .. pick("product")) end,
  function() return wrk.format("GET", "/api/v1/products?q=" .. pick("word") .. "&limit=20") end,
  place_order,
  function() return wrk.format("GET", "/api/v1/orders?limit=10", authorized()) end,
}

local scenarios = {
  healthz = function() return wrk.format("GET", "/healthz") end,
  product = function() return wrk.format("GET", "/api/v1/products/" .. pick("product")) end,
  search = function() return wrk.format("GET", "/api/v1/products?q=" .. pick("word") .. "&limit=20") end,
  order = place_order,
  shopper = function() return shopper_steps[sent % #shopper_steps + 1]() end,
}

function request()
  local built = scenarios[scenario]()
  sent = sent + 1
  return built
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      merged[tostring(status)] = (merged[tostring(status)] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(merged) do table.insert(parts, string.format('"%s": %d', status, count)) end
  local errors = summary.errors
  io.write(string.format(
    'bench-result {"requests": %d, "duration_us": %d, "latency_us": {"p50": %d, "p90": %d, "p95": %d, ' ..
    '"p99": %d, "max": %d}, "socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, ' ..
    '"statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency.max, errors.connect, errors.read, errors.write,
    errors.timeout, table.concat(parts, ", ")))
end
