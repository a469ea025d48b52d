-- dhcp_dora.lua — one laptop joins a LAN and gets its address by DHCP:
-- DISCOVER, OFFER, REQUEST, ACK (RFC 2131), then an ARP probe of the
-- address (RFC 5227) before the laptop uses it.
--
--   laptop --+-- switch (1Gbps, 1ms per port) --+-- dhcp (10.0.0.1)
--
-- Outputs: dhcp_dora.pcap (open it in Wireshark), the sequence diagram
-- dhcp_dora.txt/.mmd with DISCOVER/OFFER/REQUEST/ACK labels, events.tsv.

local netsim = require "netsim"

local sim = netsim.new { seed = 1 }                 -- same seed, same run

-- A LAN: a switch with one port per host; its subnet is 10.0.0.0/24.
local lan = sim:lan("office", { subnet = "10.0.0.0/24", rate = "1Gbps", delay = "1ms" })

local server = sim:host "dhcp"
lan:attach(server, "10.0.0.1")                      -- the server has a fixed address

local laptop = sim:host "laptop"
lan:attach(laptop, false)                           -- false: starts at 0.0.0.0

-- The server hands out 10.0.0.100-150 for one hour and tells clients
-- their router (option 3); the subnet mask (option 1) comes from the LAN.
local srv = server:dhcp_server { pool = "10.0.0.100-10.0.0.150", lease = "1h",
                                 router = "10.0.0.1" }

-- What users see: every frame, and a diagram labelled with DHCP messages.
sim:pcap { host = laptop, file = "dhcp_dora.pcap" }
sim:diagram { hosts = { laptop, server }, file = "dhcp_dora" }

-- The client waits 2 s before it starts (RFC 2131 suggests a random 1-10 s
-- so that a building coming back from a power cut does not storm the
-- server; leave start_delay out for that) and probes the address for 1 s.
local bound_at
local client = laptop:dhcp_client { start_delay = "2s", probe = "1s" }

-- Other models start when the host has its address.
laptop:on_bound(function(addr)
  bound_at = sim:now()
  print(string.format("laptop bound %s at %.6f s", addr, bound_at))
  laptop:ping(server, { count = 1 })                -- now it can talk
end)

sim:run "10s"

-- Check the run: one address from the pool, got in 2 round trips after
-- the 2 s start delay plus the 1 s probe (each hop here is ~2 ms).
netsim.assert(client:state() == "BOUND", "laptop is not BOUND: " .. client:state())
netsim.assert(client:addr() == "10.0.0.100", "unexpected address " .. tostring(client:addr()))
netsim.assert(bound_at and bound_at > 3.008 and bound_at < 3.009,
              "DORA + probe took " .. tostring(bound_at))
local lease = client:lease()
netsim.assert(lease.lease == 3600 and lease.router == "10.0.0.1", "lease options")
netsim.assert(math.abs(lease.t1 - lease.requested - 1800) < 1e-9, "T1 is half the lease")
netsim.assert(srv:active() == 1, "server counts one lease")
