-- udp_ping.lua — the network layer on its own: a chain of two routers,
-- a ping across it, a UDP exchange, a datagram to a closed port (answered
-- with ICMP port unreachable) and a link that fails and recovers.
--
--   client --10Mbps/5ms-- r1 --1Mbps/20ms-- r2 --10Mbps/5ms-- server
--
-- Outputs: a sequence diagram of client <-> server (udp_ping.txt/.mmd),
-- a pcap of the client's interface, events.tsv and counters.tsv.

local netsim = require "netsim"

local p = netsim.params {
  loss = 0.0,            -- loss on the slow middle link
  size = 200,            -- UDP payload bytes
}

local sim    = netsim.new { seed = 1 }
local client = sim:host "client"
local r1     = sim:router "r1"
local r2     = sim:router "r2"
local server = sim:host "server"
sim:link(client, r1, { rate = "10Mbps", delay = "5ms" })
local slow = sim:link(r1, r2, { rate = "1Mbps", delay = "20ms", loss = p.loss })
sim:link(r2, server, { rate = "10Mbps", delay = "5ms" })

sim:pcap { host = client, file = "client.pcap" }
sim:diagram { hosts = { client, server }, file = "udp_ping" }

-- Ping: the round trip is 2 x (5 + 20 + 5) ms plus serialization.
local rtts = {}
client:ping(server, { count = 3, interval = "100ms", on_reply = function(seq, rtt)
  rtts[seq] = rtt
  sim:log("demo.ping", "client", { seq = seq, rtt_ms = string.format("%.3f", rtt * 1e3) })
end })

-- UDP echo on port 7.
local echo = server:udp(7)
echo:on_receive(function(data, from, port) echo:send(from, port, data) end)

local sock = client:udp()
local replies = 0
local echo_ok = false
sock:on_receive(function(data)
  replies = replies + 1
  echo_ok = data == p.size
end)
sim:at("0.5s", function() sock:send(server, 7, p.size) end)
sim:at("0.6s", function() sock:send(server, 9, p.size) end)   -- closed port

-- The slow link fails for a second: pings sent meanwhile are lost.
slow:down "1s"
slow:up "2s"
client:ping(server, { at = "1.5s" })
client:ping(server, { at = "2.5s", on_reply = function() replies = replies + 1 end })

sim:run "5s"

netsim.assert(#rtts == 3, "three ping replies")
netsim.result { rtt_ms = rtts[1] * 1e3, replies = replies }
netsim.assert(replies == 2, "UDP echo and the ping after the link came back")
netsim.assert(echo_ok, "echo returned the payload size")
