-- dhcp_relay.lua — one DHCP server for two subnets behind a router: the
-- router runs a relay agent (RFC 1542, RFC 2131 4.1) that hears the
-- clients' broadcasts on each LAN and sends them on to the server with
-- giaddr = the address of the interface they came in on; the server picks
-- the pool whose subnet holds giaddr, and its reply goes back through the
-- relay, which sends it to the client's MAC on that LAN (clients leave the
-- BROADCAST flag clear by default; with it set the relay broadcasts).
--
--   dhcp (10.0.0.1) -- core 10.0.0.0/24 -- gw (10.0.0.254, relay)
--                                           |-- floor1 10.0.1.0/24: pc1-1 ...
--                                           `-- floor2 10.0.2.0/24: pc2-1 ...
--
--   netsim scenarios/dhcp_relay.lua -D clients=10
--
-- Outputs: events.tsv (dhcp rows), relay.txt/.mmd (pc1-1, gw and dhcp).

local netsim = require "netsim"

local p = netsim.params {
  clients = 3,            -- per floor
  lease   = "1h",
  run     = "2h",         -- two renewals through the relay
}

local sim = netsim.new { seed = 1 }
sim:trace { kinds = { "dhcp" } }

local core   = sim:lan("core",   { subnet = "10.0.0.0/24", delay = "1ms" })
local floor1 = sim:lan("floor1", { subnet = "10.0.1.0/24", delay = "1ms" })
local floor2 = sim:lan("floor2", { subnet = "10.0.2.0/24", delay = "1ms" })

local server, gw = sim:host "dhcp", sim:router "gw"
core:attach(server, "10.0.0.1")
core:attach(gw, "10.0.0.254")
floor1:attach(gw, "10.0.1.1")
floor2:attach(gw, "10.0.2.1")

-- The relayed subnets are not the server's own, so each pool names its
-- subnet; the router option points clients at the gateway of their floor.
local srv = server:dhcp_server {
  lease = p.lease,
  pools = {
    { range = "10.0.1.100-10.0.1.199", subnet = "10.0.1.0/24", router = "10.0.1.1" },
    { range = "10.0.2.100-10.0.2.199", subnet = "10.0.2.0/24", router = "10.0.2.1" },
  },
}
gw:dhcp_relay { server = server }

local floors = { { lan = floor1, net = "10.0.1." }, { lan = floor2, net = "10.0.2." } }
local clients = {}
for f, fl in ipairs(floors) do
  for i = 1, p.clients do
    local h = sim:host(string.format("pc%d-%d", f, i))
    fl.lan:attach(h, false)
    clients[#clients + 1] = { floor = f, host = h,
                              dhcp = h:dhcp_client { start_delay = { "1s", "10s" } } }
  end
end
sim:diagram { hosts = { clients[1].host, gw, server }, file = "relay" }

sim:run(p.run)

-- Every client holds an address from its own floor's pool, with its floor's
-- router, and no two clients share one.
local seen, per_floor = {}, { 0, 0 }
for _, c in ipairs(clients) do
  local addr, name = c.dhcp:addr(), c.host:name()
  netsim.assert(c.dhcp:state() == "BOUND", name .. " is " .. c.dhcp:state())
  local net, last = addr:match("^(%d+%.%d+%.%d+%.)(%d+)$")
  netsim.assert(net == floors[c.floor].net and tonumber(last) >= 100 and tonumber(last) <= 199,
                name .. " got " .. addr .. ", outside floor " .. c.floor .. "'s pool")
  netsim.assert(c.dhcp:lease().router == floors[c.floor].net .. "1", name .. "'s router")
  netsim.assert(not seen[addr], addr .. " leased twice")
  seen[addr] = true
  per_floor[c.floor] = per_floor[c.floor] + 1
  print(string.format("%-6s %s (renewed %d times)", name, addr, c.dhcp:stats().bound - 1))
end
netsim.assert(srv:active() == #clients, "the server counts " .. srv:active() .. " leases")
netsim.result { floor1 = per_floor[1], floor2 = per_floor[2], server_acks = srv:stats().acks }
