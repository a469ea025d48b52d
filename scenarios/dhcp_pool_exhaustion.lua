-- dhcp_pool_exhaustion.lua — more laptops than addresses: 60 laptops
-- arrive over the first two minutes at an office whose pool has 50
-- addresses.  Fifty get one; the rest retransmit their DISCOVERs with the
-- RFC's backoff (4, 8, 16, 32, 64 s, +-1 s).  From minute five laptops
-- start leaving (RELEASE), and each freed address goes to a waiting one.
--
--   netsim scenarios/dhcp_pool_exhaustion.lua -D laptops=80 -D pool=50

local netsim = require "netsim"

local p = netsim.params {
  laptops  = 60,
  pool     = 50,
  leaving  = 15,          -- laptops that leave, one every 10 s from 300 s
  duration = "15min",
}

local sim = netsim.new { seed = 1 }
-- The DHCP rows and address changes; the broadcasts that other laptops
-- drop (no DHCP server on port 67) would outnumber them 10 to 1.
sim:trace { kinds = { "dhcp", "net.addr" } }
sim:dhcp_trace { every = "5s" }   -- dhcp_timeline.tsv, dhcp_pool.tsv
local lan = sim:lan("office", { subnet = "10.0.0.0/16", rate = "1Gbps", delay = "100us" })
local server = sim:host "dhcp"
lan:attach(server, "10.0.0.1")
local last = string.format("10.0.%d.%d", (99 + p.pool) // 256, (99 + p.pool) % 256)
local srv = server:dhcp_server { pool = "10.0.0.100-" .. last, lease = "1h" }

local arrivals = sim:rng "arrivals"
local clients, bound = {}, 0
for i = 1, p.laptops do
  local h = sim:host("laptop-" .. i)
  lan:attach(h, false)
  clients[i] = h:dhcp_client { start_delay = arrivals:uniform(0, 120), probe = 0 }
  h:on_bound(function() bound = bound + 1 end)
end

-- Some leave: a RELEASE frees the address at the server.
for k = 1, p.leaving do
  sim:at(300 + 10 * (k - 1), function() clients[k]:release() end)
end

local at_300
sim:at(299, function() at_300 = srv:active() end)
sim:run(p.duration)

local holding = 0
for i = 1, p.laptops do
  if clients[i]:state() == "BOUND" then holding = holding + 1 end
end
print(string.format("%d laptops, %d addresses: %d held at 299 s, %d held at the end, %d leases granted",
                    p.laptops, p.pool, at_300, holding, bound))
netsim.result { held_before_leaving = at_300, held_at_end = holding, leases = bound,
                exhausted = srv:stats().exhausted }
netsim.assert(at_300 == math.min(p.pool, p.laptops), "the whole pool is leased, no more")
netsim.assert(holding == math.min(p.pool, p.laptops - p.leaving),
              "every freed address went to a waiting laptop")
