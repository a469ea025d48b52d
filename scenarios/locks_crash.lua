-- locks_crash.lua — a client crashes holding a majority of the lock
-- servers.  a takes R1 and crashes at its second grant (a majority of
-- three); b and c queue behind it.
--
-- With leases (the default ttl of 2 s) each server frees a's lock one TTL
-- after it granted it, and b then c go in.  With -D ttl=0 nothing ever
-- frees it: b and c wait (resending their requests every RTO) until the
-- run ends, and the report names the crashed holder they wait for.
--
--   netsim scenarios/locks_crash.lua              -- leases: b, c proceed
--   netsim scenarios/locks_crash.lua -D ttl=0     -- no leases: stuck
--
-- Outputs: locks_crash.txt/.mmd (sequence diagram), waitfor.txt/.dot/.mmd,
-- events.tsv (lock.expire marks each freed lock).

local netsim = require "netsim"

local p = netsim.params {
  ttl = "2s",               -- lease of a grant; 0 = no leases
  strategy = "wait",
}

local sim = netsim.new { seed = 1 }
local cl = sim:lock_cluster { servers = 3, delay = "1ms", ttl = p.ttl }

local a = sim:host("a"):lock_client { cluster = cl, strategy = p.strategy,
                                      resources = "R1", crash_after_grants = 2 }
local b = sim:host("b"):lock_client { cluster = cl, strategy = p.strategy,
                                      resources = "R1", start = "1ms" }
local c = sim:host("c"):lock_client { cluster = cl, strategy = p.strategy,
                                      resources = "R1", start = "2ms" }

local watched = { sim:host_named "a", sim:host_named "b" }
for _, s in ipairs(cl:servers()) do watched[#watched + 1] = s end
sim:diagram { hosts = watched, file = "locks_crash" }
cl:waitfor_files "waitfor"
cl:holds_table "holds"                -- who holds what: plots/lock_gantt.gp

sim:run "60s"

local r = cl:report()
for _, x in ipairs { a, b, c } do
  local s = x:stats()
  print(string.format("%-2s %-9s acquisitions=%d waited=%.3f s", x:name(), s.state,
                      s.acquisitions, s.longest_wait))
end
local waiting = cl:waiting()
if waiting ~= "" then io.write("still waiting at the end:\n", waiting) end

netsim.result { ttl = p.ttl, acquisitions = r.acquisitions, blocked = r.blocked,
                longest_wait = r.longest_wait, violations = r.violations }
netsim.assert(r.violations == 0, r.first_violation)
netsim.assert(a:state() == "crashed", "a crashed holding the lock")
if p.ttl > 0 then
  netsim.assert(r.acquisitions == 2, "b and c lock R1 once a's leases expire")
  netsim.assert(b:stats().longest_wait >= p.ttl, "b waited at least one TTL")
else
  netsim.assert(r.blocked == 2 and waiting:find("a [crashed]", 1, true),
                "without leases b and c wait for the crashed a forever")
end
