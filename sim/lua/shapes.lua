-- shapes.lua — helpers for common topologies and measurements, written in
-- plain Lua on top of the public API so a user can read them and write
-- their own.  netsim.c runs this chunk once with the metatables of
-- netsim.Sim and netsim.Host; it adds methods to them.
--
--   sim:dumbbell{ pairs, bottleneck = {...}, access = {...}, loss }
--   sim:chain{ hosts = n, link = {...} }
--   host:tcp_bulk(dst [, port] [, opts])   -- also sets up a sink at dst
--   sim:goodput()  sim:fairness()

local Sim, Host = ...

-- Calls f(...) and re-raises its error at the user's line (level 3: the
-- caller of the helper that called us), without this file's position.
local function checked(f, ...)
  local ok, r = pcall(f, ...)
  if not ok then
    error((tostring(r):gsub("^netsim/shapes%.lua:%d+: ", "")), 3)
  end
  return r
end

local function copy(t)
  local c = {}
  for k, v in pairs(t or {}) do c[k] = v end
  return c
end

-- A dumbbell: `pairs` senders on the left, as many receivers on the right,
-- each on its own access link to a router; the two routers joined by the
-- bottleneck.  Returns the list of left hosts and the list of right hosts.
-- `queue = 100` in a link table means a drop-tail queue of 100 packets;
-- `loss` applies to the bottleneck.
function Sim:dumbbell(o)
  assert(type(o) == "table", "dumbbell: options table expected")
  local n = o.pairs or 1
  if type(n) ~= "number" or n < 1 or n % 1 ~= 0 then
    error("dumbbell: pairs must be a positive integer, got " .. tostring(n), 2)
  end
  local function link_opts(t, extra)
    local l = copy(t)
    if type(l.queue) == "number" then l.queue = { kind = "droptail", limit = l.queue } end
    for k, v in pairs(extra or {}) do l[k] = v end
    return l
  end
  local rl = checked(self.router, self, "left-router")
  local rr = checked(self.router, self, "right-router")
  checked(self.link, self, rl, rr, link_opts(o.bottleneck, { loss = o.loss }))
  local left, right = {}, {}
  for i = 1, n do
    left[i]  = checked(self.host, self, "left-" .. i)
    right[i] = checked(self.host, self, "right-" .. i)
    checked(self.link, self, left[i], rl, link_opts(o.access))
    checked(self.link, self, rr, right[i], link_opts(o.access))
  end
  return left, right
end

-- A chain: host-1 -- r-1 -- ... -- r-(n) -- host-2, routers in between.
function Sim:chain(o)
  local n = o.routers or 1
  local a, b = checked(self.host, self, "chain-a"), checked(self.host, self, "chain-b")
  local prev = a
  for i = 1, n do
    local r = checked(self.router, self, "chain-r" .. i)
    checked(self.link, self, prev, r, copy(o.link))
    prev = r
  end
  checked(self.link, self, prev, b, copy(o.link))
  return a, b
end

-- TCP options a sink shares with its sender (the rest are the sender's).
local sink_keys = { "mss", "rcvbuf", "sndbuf", "window_scale", "timestamps", "sack",
                    "delayed_ack", "ecn", "cc", "read_rate" }
local sinks = setmetatable({}, { __mode = "k" })   -- host -> { [port] = listener }

local tcp_bulk = Host.tcp_bulk
-- host:tcp_bulk(dst [, port = 5001] [, { bytes = n, cc = ..., ... }]):
-- unlimited (or n bytes of) bulk data to dst, which gets a sink listener on
-- that port unless it already listens there.
function Host:tcp_bulk(dst, port, opts)
  if type(port) ~= "number" then port, opts = 5001, port end
  opts = opts or {}
  local by_port = sinks[dst] or {}
  sinks[dst] = by_port
  if not by_port[port] and type(dst) ~= "string" then
    local sink = {}
    for _, k in ipairs(sink_keys) do
      if k ~= "read_rate" then sink[k] = opts[k] end
    end
    -- A listener the script made itself takes precedence.
    local ok, l = pcall(dst.tcp_listen, dst, port, sink)
    if not ok and not tostring(l):find("already listening", 1, true) then error(l, 2) end
    by_port[port] = ok and l or true
  end
  return checked(tcp_bulk, self, dst, port, opts)
end

-- Total goodput of every TCP flow (bit/s, each since it was established).
function Sim:goodput()
  local sum = 0
  for _, f in ipairs(self:tcp_goodputs()) do sum = sum + f.bps end
  return sum
end

-- Jain's fairness index over the flows' goodputs: (sum x)^2 / (n sum x^2).
function Sim:fairness()
  local s, s2, n = 0, 0, 0
  for _, f in ipairs(self:tcp_goodputs()) do
    s, s2, n = s + f.bps, s2 + f.bps * f.bps, n + 1
  end
  if n == 0 or s2 == 0 then return 0 end
  return s * s / (n * s2)
end
