-- lossy_handshake.lua — the handshake when the server's SYN-ACK is lost:
-- the client's SYN retransmission timer (1 s, RFC 6298) fires, the SYN
-- goes out again, the server answers it with a new SYN-ACK.
--
--   netsim scenarios/lossy_handshake.lua -D lose=2    (lose two SYN-ACKs)

local netsim = require "netsim"

local p = netsim.params {
  delay = "20ms",
  lose  = 1,             -- SYN-ACKs to drop
}

local sim    = netsim.new { seed = 1 }
local client = sim:host "client"
local server = sim:host "server"
local link   = sim:link(client, server, { rate = "10Mbps", delay = p.delay })
link:drop { match = "synack", nth = 1, count = p.lose, dir = "server>client" }

sim:pcap { host = client, file = "lossy_handshake.pcap" }
sim:diagram { hosts = { client, server }, file = "lossy_handshake" }

server:tcp_listen(80, { on_accept = function(conn) conn:on_close(function() conn:close() end) end })
local c = client:tcp_connect(server, 80)
local est_at
c:on_established(function() est_at = sim:now(); c:send(100); c:close() end)

sim:run "10s"

-- Initial RTO 1 s, doubled after each timeout: 1 + 2 + ... seconds late.
local waited = 0
for i = 1, p.lose do waited = waited + 2 ^ (i - 1) end
print(string.format("established after %.3f s (%d SYN-ACK%s lost, %g s of timeouts)",
                    est_at, p.lose, p.lose == 1 and "" or "s", waited))
netsim.result { established_s = est_at, timeouts_s = waited }
netsim.assert(est_at and math.abs(est_at - (waited + 2 * p.delay)) < 0.01,
              "established one RTT after the last SYN retransmission")
