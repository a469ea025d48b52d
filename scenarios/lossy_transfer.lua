-- lossy_transfer.lua — one bulk transfer over a lossy path: fast
-- retransmits, recovery and (rarely) timeouts, seen in the Stevens plot.
--
--   netsim scenarios/lossy_transfer.lua -D loss=0.02 -D sack=false
--   gnuplot -e "dir='out/lossy_transfer'" plots/seq.gp

local netsim = require "netsim"

local p = netsim.params {
  loss  = 0.01,
  bytes = "2MiB",
  sack  = true,
  cc    = "newreno",
}

local sim = netsim.new { seed = 1 }
local a, b = sim:host "sender", sim:host "receiver"
sim:link(a, b, { rate = "10Mbps", delay = "20ms", loss = p.loss, queue = { limit = 100 } })
local done_at
b:tcp_listen(5001, { on_accept = function(conn) conn:on_close(function() conn:close() end) end })
local c = a:tcp_bulk(b, 5001, { bytes = p.bytes, sack = p.sack, cc = p.cc })
c:on_finished(function() done_at = sim:now() end)

sim:tcp_trace { every = "50ms", seq = true }
sim:trace { kinds = { "tcp.state", "tcp.recovery", "tcp.timeout" } }
sim:run "120s"

local info = c:info()
print(string.format("%s in %.2f s: %d retransmissions (%d fast, %d timeouts)",
                    p.bytes >= 1048576 and string.format("%.1f MiB", p.bytes / 1048576) or p.bytes .. " B",
                    done_at or -1, info.retransmits, info.fast_retransmits, info.timeouts))
netsim.result { seconds = done_at or -1, retransmits = info.retransmits,
                timeouts = info.timeouts, fast_retransmits = info.fast_retransmits }
netsim.assert(done_at, "the transfer completed")
