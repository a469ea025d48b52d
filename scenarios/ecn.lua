-- ecn.lua — CoDel on a bottleneck, with and without ECN: with ECN the
-- queue marks packets (CE) instead of dropping them, the receivers echo
-- the marks (ECE), the senders halve their windows once per round trip
-- and say so (CWR): the same queue delay, without the retransmissions.
--
--   netsim scenarios/ecn.lua -D ecn=false     (CoDel drops instead)

local netsim = require "netsim"

local p = netsim.params {
  ecn      = true,
  flows    = 2,
  rate     = "10Mbps",
  duration = "20s",
}

local sim = netsim.new { seed = 1 }
local left, right = sim:dumbbell {
  pairs = p.flows,
  bottleneck = { rate = p.rate, delay = "20ms",
                 queue = { kind = "codel", target = "5ms", interval = "100ms", ecn = p.ecn,
                           limit = 1000 } },
  access = { rate = "1Gbps", delay = "1ms" },
}
local conns = {}
for i = 1, p.flows do
  conns[i] = left[i]:tcp_bulk(right[i], { ecn = p.ecn })
end
sim:tcp_trace { every = "100ms" }
sim:trace { kinds = { "tcp.ecn", "tcp.recovery", "tcp.timeout", "net.drop" } }
sim:run(p.duration)

local retrans, reductions = 0, 0
for _, c in ipairs(conns) do
  local i = c:info()
  retrans, reductions = retrans + i.retransmits, reductions + i.ecn_reductions
end
print(string.format("ECN %s: %.2f Mbit/s, %d retransmissions, %d ECN window reductions",
                    tostring(p.ecn), sim:goodput() / 1e6, retrans, reductions))
netsim.result { goodput = sim:goodput(), retransmits = retrans, ecn_reductions = reductions }
if p.ecn then
  netsim.assert(reductions > 0, "CoDel marked and the senders reduced")
  netsim.assert(retrans == 0, "no packet had to be retransmitted")
end
