-- handshake.lua — TCP's three-way handshake, a little data, and the
-- four-way teardown, between two hosts 20 ms apart.
--
-- Look at: handshake.txt (the sequence diagram: SYN, SYN-ACK, ACK, data,
-- FIN, ACK with the state each side enters), handshake.pcap (open it in
-- Wireshark), events.tsv (every segment and state change).
--
--   netsim scenarios/handshake.lua -D delay=50ms -D bytes=5000

local netsim = require "netsim"

local p = netsim.params {
  delay = "20ms",        -- one-way propagation delay
  rate  = "10Mbps",
  bytes = 1000,          -- data the client sends once connected
}

local sim    = netsim.new { seed = 1 }
local client = sim:host "client"
local server = sim:host "server"
sim:link(client, server, { rate = p.rate, delay = p.delay })

sim:pcap { host = client, file = "handshake.pcap" }
sim:diagram { hosts = { client, server }, file = "handshake" }

local received = 0
server:tcp_listen(80, {
  on_accept = function(conn)
    conn:on_data(function(_, data) received = received + (type(data) == "string" and #data or data) end)
    conn:on_close(function() conn:close() end)     -- the client is done: close too
  end,
})

local c = client:tcp_connect(server, 80)
local syn_at = sim:now()
local est_at
c:on_established(function()
  est_at = sim:now()
  c:send(p.bytes)
  c:close()
end)

sim:run "5s"

local rtt = 2 * p.delay
print(string.format("%s  SYN-SENT -> ESTABLISHED in %.1f ms (%.2f RTT)",
                    c:name(), (est_at - syn_at) * 1e3, (est_at - syn_at) / rtt))
netsim.result { handshake_s = est_at - syn_at, received = received }
netsim.assert(received == p.bytes, "the server received every byte")
