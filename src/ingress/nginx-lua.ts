// The Lua side of the nginx data plane (ingress-nginx's rootfs/etc/nginx/lua/balancer.lua idea):
// routes and ready endpoints arrive as one Lua table over the control socket, each worker reloads
// it when the version in shared memory moves, routes a request to a backend, balances round robin
// with a passive health check, and sends what it cannot serve to the Node holder.
// Kept as a string so the build ships it with the code.

/**
 * Lua module `skiff_ingress`: route() (access phase), balance() (balancer), log() (log phase),
 * configure() and stats() (control socket). Its guarantees:
 * 1. A request with a route and ready endpoints goes to them, round robin, at most `tries`
 *    endpoints; the next try after those goes to the holder (nginx's proxy_next_upstream decides
 *    whether a failure may be retried: connect errors always, others for idempotent methods).
 * 2. A request without a route, or whose backend lists no ready endpoint, goes to the holder.
 * 3. An endpoint that failed stays out of the rotation for failTimeout seconds unless all did.
 * 4. Counters (requests, status codes, a per-second latency histogram) and each backend's
 *    last-request second (a:<backend>, for scale to zero) reach shared memory within a second
 *    (each worker adds its own every second).
 */
export const ingressLuaModule = String.raw`
local balancer = require "ngx.balancer"
local shared = ngx.shared.skiff
local find, sub, floor, ceil, log, min = string.find, string.sub, math.floor, math.ceil, math.log, math.min

local M = { holder = nil, tries = 3, failTimeout = 10 }
local version = -1
local cfg = { exact = {}, wild = {}, any = { locs = {} }, backends = {} }
local rr = 0
local failedUntil = {}
-- This worker's counters since the last flush to shared memory (flush(), every second): a
-- request only touches Lua tables, never the shared dictionary's lock.
local requests, retries, statuses, hist, seen = 0, 0, {}, {}, {}

local function sync()
  local v = shared:get("version")
  if v == nil or v == version then return end
  local code = shared:get("config")
  local f = code and loadstring(code)
  if f then
    -- The table is data only: no globals reachable from it.
    setfenv(f, {})
    local ok, c = pcall(f)
    if ok and type(c) == "table" then cfg = c end
  end
  version = v
end

local function matches(l, path)
  local p, t = l[1], l[2]
  if t == "E" then return path == p end
  if t == "P" then
    if p == "" or path == p then return true end
    return sub(path, 1, #p + 1) == p .. "/"
  end
  return sub(path, 1, #p) == p
end

-- Runs from set_by_lua (no coroutine per request): returns the backend's upstream name.
function M.route()
  sync()
  local host = ngx.var.host or ""
  local s = cfg.exact[host]
  if not s then
    local dot = find(host, ".", 1, true)
    if dot and dot > 1 then s = cfg.wild[sub(host, dot + 1)] end
  end
  s = s or cfg.any
  local uri = ngx.var.request_uri or "/"
  local q = find(uri, "?", 1, true)
  local path = q and sub(uri, 1, q - 1) or uri
  local b
  for i = 1, #s.locs do
    local l = s.locs[i]
    if matches(l, path) then b = l[3]; break end
  end
  b = b or s.def or cfg.any.def
  if not b then return "" end
  seen[b] = true
  local eps = cfg.backends[b]
  if eps and #eps > 0 then ngx.ctx.eps = eps end
  return b
end

function M.balance()
  local ctx = ngx.ctx
  local eps = ctx.eps
  if not eps then
    balancer.set_current_peer(M.holder)
    return
  end
  local n = #eps
  local now = ngx.now()
  if ctx.tried == nil then
    rr = rr + 1
    ctx.next = rr
    ctx.tried = 0
    ctx.max = min(n, M.tries)
    -- One more try than endpoints: the last goes to the holder.
    balancer.set_more_tries(ctx.max)
  else
    retries = retries + 1
    if ctx.last then failedUntil[ctx.last] = now + M.failTimeout end
  end
  if ctx.tried >= ctx.max then
    ctx.last = nil
    balancer.set_current_peer(M.holder)
    return
  end
  ctx.tried = ctx.tried + 1
  local pick
  for i = 0, n - 1 do
    local ep = eps[(ctx.next + i) % n + 1]
    local key = ep[1] .. ":" .. ep[2]
    local u = failedUntil[key]
    if not u or u <= now then
      pick = ep
      ctx.next = ctx.next + i + 1
      ctx.last = key
      break
    end
  end
  if not pick then
    pick = eps[ctx.next % n + 1]
    ctx.next = ctx.next + 1
    ctx.last = pick[1] .. ":" .. pick[2]
  end
  balancer.set_current_peer(pick[1], pick[2])
end

-- Latency buckets as src/ingress/stats.ts: 0.05 ms growing by 5%.
local lg = log(1.05)
local buckets = ceil(log(120000 / 0.05) / lg) + 1

-- nginx's clock has millisecond steps: the bucket of each whole millisecond, computed once.
local bucketOfMs = setmetatable({}, { __index = function(t, ms)
  local b = 0
  if ms > 0.05 then b = min(buckets - 1, ceil(log(ms / 0.05) / lg)) end
  t[ms] = b
  return b
end })

function M.log()
  local status = ngx.status
  requests = requests + 1
  statuses[status] = (statuses[status] or 0) + 1
  local now = ngx.now()
  local ms = floor((now - ngx.req.start_time()) * 1000 + 0.5)
  if ms > 120000 then ms = 120000 end
  local key = floor(now) * 10000 + bucketOfMs[ms]
  hist[key] = (hist[key] or 0) + 1
end

function M.flush()
  if requests > 0 then shared:incr("r", requests, 0) end
  if retries > 0 then shared:incr("e:retry", retries, 0) end
  for status, n in pairs(statuses) do shared:incr("s:" .. status, n, 0) end
  for key, n in pairs(hist) do
    shared:incr("h:" .. floor(key / 10000) .. ":" .. key % 10000, n, 0, 15)
  end
  if next(seen) then
    local now = ngx.now()
    for b in pairs(seen) do shared:set("a:" .. b, now) end
  end
  requests, retries, statuses, hist, seen = 0, 0, {}, {}, {}
end

function M.configure()
  ngx.req.read_body()
  local body = ngx.req.get_body_data()
  if not body or not loadstring(body) then
    ngx.status = 400
    ngx.say("bad configuration")
    return
  end
  shared:set("config", body)
  shared:incr("version", 1, 0)
  ngx.say("ok")
end

function M.stats()
  M.flush()
  local out = {}
  for _, k in ipairs(shared:get_keys(0)) do
    if k ~= "config" then
      local v = shared:get(k)
      if v then out[#out + 1] = k .. " " .. v end
    end
  end
  ngx.say(table.concat(out, "\n"))
end

return M
`;
