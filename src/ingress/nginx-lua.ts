// The Lua side of the nginx data plane (ingress-nginx's rootfs/etc/nginx/lua/balancer.lua idea):
// routes and ready endpoints arrive as one Lua table over the control socket, each worker reloads
// it when the version in shared memory moves, routes a request to a backend, balances round robin
// with a passive health check, and sends what it cannot serve to the Node holder.
// Kept as a string so the build ships it with the code.

/**
 * Lua module `skiff_ingress`: route() (rewrite phase), whole() (access phase), wholeHeader() (the
 * whole-answer subrequest's header filter), balance() (balancer), log() (log phase), configure()
 * and stats() (control socket). Its guarantees:
 * 1. A request with a route and ready endpoints goes to them, round robin, at most `tries`
 *    endpoints; the next try after those goes to the holder (nginx's proxy_next_upstream decides
 *    whether a failure may be retried: connect errors always, others for idempotent methods).
 * 2. A request without a route, or whose backend lists no ready endpoint, goes to the holder.
 * 3. An endpoint that failed stays out of the rotation for failTimeout seconds unless all did.
 * 4. A GET or HEAD without a body or an Upgrade whose answer declares at most wholeMax bytes is
 *    fetched whole (a subrequest, whole()) before the client sees a byte of it; one cut off
 *    (upstream closed early, body shorter than declared, chunked without its end) is asked of
 *    the next endpoint (the cut one marked failed), within the same `tries`, the holder last.
 *    Larger or open-ended answers (no Content-Length) stream instead, asked again of the
 *    upstream; after one its backend and path stream at once for a minute.
 * 5. Counters (requests, status codes, a per-second latency histogram) and each backend's
 *    last-request second (a:<backend>, for scale to zero) reach shared memory within a second
 *    (each worker adds its own every second); a backend with an upgraded (WebSocket) connection
 *    open counts as having a request every second until it closes.
 */
export const ingressLuaModule = String.raw`
local balancer = require "ngx.balancer"
local shared = ngx.shared.skiff
local find, sub, floor, ceil, log, min = string.find, string.sub, math.floor, math.ceil, math.log, math.min

local M = { holder = nil, tries = 3, failTimeout = 10, wholeMax = 65536, wholeUri = nil }
local version = -1
local cfg = { exact = {}, wild = {}, any = { locs = {} }, backends = {} }
local rr = 0
local failedUntil = {}
-- This worker's counters since the last flush to shared memory (flush(), every second): a
-- request only touches Lua tables, never the shared dictionary's lock.
local requests, retries, streams, statuses, hist, seen = 0, 0, 0, {}, {}, {}
-- Upgraded (WebSocket) connections open in this worker per backend: seen every flush while open.
local tunnels = {}

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

-- Runs from set_by_lua (no coroutine per request) with $host, $request_uri and $skiff_whole as
-- arguments (an indexed read each, cheaper than looking ngx.var up by name): returns the backend's
-- upstream name, and counts an Upgrade (whole "3") as an open connection of its backend.
function M.route()
  sync()
  local arg = ngx.arg
  local host, uri, w = arg[1] or "", arg[2] or "/", arg[3]
  local s = cfg.exact[host]
  if not s then
    local dot = find(host, ".", 1, true)
    if dot and dot > 1 then s = cfg.wild[sub(host, dot + 1)] end
  end
  s = s or cfg.any
  local q = find(uri, "?", 1, true)
  local path = q and sub(uri, 1, q - 1) or uri
  local b
  for i = 1, #s.locs do
    local l = s.locs[i]
    if matches(l, path) then b = l[3]; break end
  end
  b = b or s.def or cfg.any.def
  local ctx = ngx.ctx
  ctx.w = w
  if not b then return "" end
  seen[b] = true
  if w == "3" then
    tunnels[b] = (tunnels[b] or 0) + 1
    ctx.tunnel = b
  end
  local eps = cfg.backends[b]
  if eps and #eps > 0 then ctx.eps = eps end
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
    -- A new whole-answer subrequest after a cut answer: the tries left, the holder last.
    if ctx.again then
      ctx.again = nil
      balancer.set_more_tries(ctx.max - ctx.tried)
    end
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
    local key = ep[3]
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
    ctx.last = pick[3]
  end
  balancer.set_current_peer(pick[1], pick[2])
end

local capture, HTTP_GET, HTTP_HEAD = ngx.location.capture, ngx.HTTP_GET, ngx.HTTP_HEAD
-- capture() reads its options before it yields: one table per worker serves every call. The
-- subrequest shares the request's variables: the same $req_id in the upstream's X-Request-ID
-- and the access log.
local wholeOpts = { method = HTTP_GET, share_all_vars = true }
-- Backend and path pairs whose last answer was too big to hold or a 2xx without a length, until
-- when they stream at once: such an answer is asked of the upstream twice (the whole-answer try
-- gives up at its header), which a download or an event stream should not pay each time; at most
-- 1000 pairs.
local streamed, nstreamed = {}, 0

-- Header filter of the whole-answer subrequest: notes the upstream for the access log and gives
-- up on an answer too big to hold or without a length (a stream); whole() then streams it.
function M.wholeHeader()
  local ctx, var = ngx.ctx, ngx.var
  local ua, us = var.upstream_addr or "-", var.upstream_status or "-"
  if ctx.ua then ua, us = ctx.ua .. ", " .. ua, ctx.us .. ", " .. us end
  ctx.ua, ctx.us = ua, us
  if ctx.head then return end
  local status = ngx.status
  if status == 204 or status == 304 then return end
  local len = tonumber(ngx.header["Content-Length"])
  if not len or len > M.wholeMax then
    -- A large answer, or a successful one without a length (a download, an event stream), marks
    -- its path; an error page without a length streams this once only.
    ctx.big = (len or status < 300) and 2 or 1
    return ngx.exit(ngx.ERROR)
  end
end

local function send(res, ctx, head)
  local h = ngx.header
  local status, body = res.status, res.body
  ngx.status = status
  -- Hop-by-hop headers never reach here: the proxy module drops them (Connection, Keep-Alive,
  -- Transfer-Encoding); repeated ones (Set-Cookie) come as a list and are sent as such.
  -- A body's length is its own (set once, below); a HEAD, 204 or 304 keeps the upstream's.
  local own = not head and status ~= 204 and status ~= 304
  for k, v in pairs(res.header) do
    if not own or k ~= "Content-Length" then h[k] = v end
  end
  if own then h["Content-Length"] = #body end
  ngx.var.skiff_upstream = (ctx.ua or "-") .. " " .. (ctx.us or "-")
  if #body > 0 then ngx.print(body) end
  return ngx.exit(ngx.HTTP_OK)
end

-- Access phase of the proxied location: answers a small idempotent request from a whole answer,
-- or returns (proxy_pass streams it).
function M.whole()
  local ctx = ngx.ctx
  local w = ctx.w
  if w ~= "1" and w ~= "2" then return end
  local var = ngx.var
  local key
  if nstreamed > 0 then
    key = var.skiff_backend .. " " .. var.uri
    local til = streamed[key]
    if til then
      if til > ngx.now() then return end
      streamed[key], nstreamed = nil, nstreamed - 1
    end
  end
  local head = w == "2"
  ctx.head = head
  wholeOpts.method = head and HTTP_HEAD or HTTP_GET
  wholeOpts.ctx = ctx
  while true do
    local res = capture(M.wholeUri, wholeOpts)
    if ctx.big then
      streams = streams + 1
      if ctx.big == 2 then
        key = key or var.skiff_backend .. " " .. var.uri
        if not streamed[key] then
          if nstreamed >= 1000 then streamed, nstreamed = {}, 0 end
          nstreamed = nstreamed + 1
        end
        streamed[key] = ngx.now() + 60
      end
      -- proxy_pass starts over: a first try, its log fields its own.
      ctx.tried, ctx.last, ctx.big, ctx.ua, ctx.us = nil, nil, nil, nil, nil
      return
    end
    -- A HEAD answer is whole once its header is (the capture calls it truncated: no body came).
    if head or not res.truncated then return send(res, ctx, head) end
    -- Cut off: the balancer marks the endpoint failed and tries the next; the holder's own cut
    -- answer (or one with no endpoint left) is final.
    if not ctx.last then break end
    ctx.again = true
  end
  var.skiff_upstream = (ctx.ua or "-") .. " " .. (ctx.us or "-")
  return ngx.exit(ngx.HTTP_BAD_GATEWAY)
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
  local t = ngx.ctx.tunnel
  if t then tunnels[t] = tunnels[t] - 1 end
  requests = requests + 1
  statuses[status] = (statuses[status] or 0) + 1
  local now = ngx.now()
  local ms = floor((now - ngx.req.start_time()) * 1000 + 0.5)
  if ms > 120000 then ms = 120000 end
  local key = floor(now) * 10000 + bucketOfMs[ms]
  hist[key] = (hist[key] or 0) + 1
end

function M.flush()
  for b, n in pairs(tunnels) do
    if n > 0 then seen[b] = true else tunnels[b] = nil end
  end
  if requests > 0 then shared:incr("r", requests, 0) end
  if retries > 0 then shared:incr("e:retry", retries, 0) end
  if streams > 0 then shared:incr("e:streamed", streams, 0) end
  for status, n in pairs(statuses) do shared:incr("s:" .. status, n, 0) end
  for key, n in pairs(hist) do
    shared:incr("h:" .. floor(key / 10000) .. ":" .. key % 10000, n, 0, 15)
  end
  if next(seen) then
    local now = ngx.now()
    for b in pairs(seen) do shared:set("a:" .. b, now) end
  end
  requests, retries, streams, statuses, hist, seen = 0, 0, 0, {}, {}, {}
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
