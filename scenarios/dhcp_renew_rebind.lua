-- dhcp_renew_rebind.lua — "what does a client do at T1 and T2 when its
-- server is down?"  Two LANs, each with a client holding a one-hour lease
-- whose server is down from 1,500 s (before T1 = 1,800 s) to after T2
-- (3,150 s):
--
--   office: laptop, dhcp-a (down), dhcp-b — a failover pair sharing one
--           lease database: at T2 the laptop's broadcast REQUEST reaches
--           dhcp-b, which renews dhcp-a's lease.  The laptop keeps its
--           address.
--   lab:    pc, dhcp-c (down until 3,700 s), no partner: the unicast
--           REQUESTs at T1 and the broadcast ones after T2 go unanswered,
--           the lease expires at 3,600 s, the pc loses its address and
--           starts again at INIT until dhcp-c is back.
--
-- Outputs: events.tsv (dhcp.state, dhcp.lease, dhcp.server rows: the
-- timeline of both clients), renew_rebind.txt/.mmd for the lab, and the
-- tables dhcp_timeline.tsv and dhcp_pool.tsv for plots/dhcp_timeline.gp
-- and plots/dhcp_pool.gp.

local netsim = require "netsim"
local sim = netsim.new { seed = 1 }
sim:trace { kinds = { "dhcp" } }
sim:dhcp_trace { every = "10s" }

local office = sim:lan("office", { subnet = "10.0.0.0/24", delay = "1ms" })
local lab    = sim:lan("lab",    { subnet = "10.0.1.0/24", delay = "1ms" })

local a, b, c = sim:host "dhcp-a", sim:host "dhcp-b", sim:host "dhcp-c"
office:attach(a, "10.0.0.1")
office:attach(b, "10.0.0.2")
lab:attach(c, "10.0.1.1")

-- The pair: dhcp-b shares dhcp-a's lease database (share = server).
local sa = a:dhcp_server { pool = "10.0.0.100-10.0.0.150", lease = "1h" }
local sb = b:dhcp_server { pool = "10.0.0.100-10.0.0.150", lease = "1h", share = sa }
local sc = c:dhcp_server { pool = "10.0.1.100-10.0.1.150", lease = "1h" }

local laptop, pc = sim:host "laptop", sim:host "pc"
office:attach(laptop, false)
lab:attach(pc, false)
-- Both take the first offer; the laptop prefers dhcp-a so that its lease
-- is dhcp-a's (and its T1 REQUEST is unicast to the server that is down).
local cl = laptop:dhcp_client { start_delay = "1s", prefer = a }
local cp = pc:dhcp_client { start_delay = "1s" }

-- The timeline of each client, as (time, state) pairs.
local timeline = { laptop = {}, pc = {} }
cl:on_state(function(from, to) table.insert(timeline.laptop, { sim:now(), to }) end)
cp:on_state(function(from, to) table.insert(timeline.pc, { sim:now(), to }) end)

a:crash "1500s";  a:restart "3400s"
c:crash "1500s";  c:restart "3700s"
sim:diagram { hosts = { pc, c }, file = "renew_rebind" }

sim:run "4000s"

local function when(list, state, after)
  for _, e in ipairs(list) do
    if e[2] == state and e[1] > (after or 0) then return e[1] end
  end
end

-- The laptop: REQUEST left at r; T1 at r + 1800 s, T2 at r + 3150 s, then
-- dhcp-b's ACK brings it back to BOUND before expiry, same address.
local r = cl:lease().requested
local rl = when(timeline.laptop, "REBINDING")
netsim.assert(math.abs(when(timeline.laptop, "RENEWING") - (1 + 0 + 1800)) < 0.01, "laptop T1")
netsim.assert(rl and rl > 3150 and rl < 3152, "laptop T2 at " .. tostring(rl))
netsim.assert(cl:state() == "BOUND" and cl:addr() == "10.0.0.100", "laptop kept its address")
netsim.assert(sb:stats().acks >= 1, "dhcp-b renewed dhcp-a's lease")
netsim.assert(r > 3150, "the lease now counts from the REBINDING REQUEST")
print(string.format("laptop: RENEWING %.3f s, REBINDING %.3f s, rebound via dhcp-b at %.3f s",
      when(timeline.laptop, "RENEWING"), rl, when(timeline.laptop, "BOUND", rl)))

-- The pc: the lease ends at its first REQUEST + 3600 s; it goes to INIT,
-- gets an address again only after dhcp-c restarts at 3700 s.
local lost = when(timeline.pc, "INIT", 3000)
netsim.assert(lost and lost > 3600 and lost < 3602, "pc lost its address at " .. tostring(lost))
local again = when(timeline.pc, "BOUND", lost)
netsim.assert(again and again > 3700, "pc bound again after dhcp-c came back")
netsim.assert(cp:stats().expired == 1, "one expiry")
print(string.format("pc: RENEWING %.3f s, REBINDING %.3f s, expired %.3f s, bound again %.3f s",
      when(timeline.pc, "RENEWING"), when(timeline.pc, "REBINDING"), lost, again))
