-- dhcp_two_servers.lua — two DHCP servers on one LAN: who wins?  A client
-- takes the first OFFER it hears; here both servers are equally near, so
-- dhcp-a, which answers first, wins every race — unless clients prefer a
-- server (half of them prefer dhcp-b with -D split=true, the default).
-- With disjoint pools that is harmless; with overlapping pools and the ARP
-- probe off, two clients end up with the same address: the what-if the
-- trace shows.  With the probe on, the second client finds the address in
-- use, DECLINEs it and tries again.
--
--   netsim scenarios/dhcp_two_servers.lua -D overlap=true -D probe=false

local netsim = require "netsim"

local p = netsim.params {
  clients = 20,
  overlap = false,        -- both servers hand out the same range
  probe   = true,         -- clients ARP-probe an offered address (RFC 5227)
  split   = true,         -- every second client prefers dhcp-b's offers
}

local sim = netsim.new { seed = 1 }
local lan = sim:lan("office", { subnet = "10.0.0.0/24", rate = "1Gbps", delay = "200us" })
local s1, s2 = sim:host "dhcp-a", sim:host "dhcp-b"
lan:attach(s1, "10.0.0.1")
lan:attach(s2, "10.0.0.2")
local a = s1:dhcp_server { pool = "10.0.0.100-10.0.0.149", lease = "1h" }
local b = s2:dhcp_server { pool = p.overlap and "10.0.0.100-10.0.0.149" or "10.0.0.150-10.0.0.199",
                           lease = "1h" }

local clients = {}
for i = 1, p.clients do
  local h = sim:host("pc-" .. i)
  lan:attach(h, false)
  clients[i] = h:dhcp_client { probe = p.probe and "1s" or 0,
                               prefer = (p.split and i % 2 == 0) and s2 or nil }
end
sim:run "2min"

-- Who holds what: count clients per address, and per server.
local by_addr, dups, from_a, from_b = {}, 0, 0, 0
for i = 1, p.clients do
  local addr = clients[i]:addr()
  if addr then
    if by_addr[addr] then dups = dups + 1 end
    by_addr[addr] = true
    local server = clients[i]:lease().server
    if server == "10.0.0.1" then from_a = from_a + 1 else from_b = from_b + 1 end
  end
end
print(string.format("%d clients: %d leased by dhcp-a, %d by dhcp-b, %d duplicate addresses",
                    p.clients, from_a, from_b, dups))
netsim.result { from_a = from_a, from_b = from_b, duplicates = dups }
if not p.overlap or p.probe then
  netsim.assert(dups == 0, "no two clients share an address")
end
