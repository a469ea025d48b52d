-- locks_pause_fencing.lua — a paused holder and fencing tokens.  a holds
-- R1 and stops (a stop-the-world pause) past its lease; b takes R1 and
-- works; a wakes and finishes its write with its old token.
--
-- With fencing (the default) the storage server has seen b's newer token
-- and rejects a's stale write: no safety violation, one rejected write.
-- With -D fencing=false it accepts both, and the oracle reports two
-- clients inside R1 at once (the time, the clients and the seed).
--
--   netsim scenarios/locks_pause_fencing.lua
--   netsim scenarios/locks_pause_fencing.lua -D fencing=false   -- violation
--   netsim scenarios/locks_pause_fencing.lua -D tokens=naive    -- per-server tokens

local netsim = require "netsim"

local p = netsim.params {
  fencing = true,           -- the storage server checks tokens
  tokens = "quorum",        -- quorum | naive | none
  ttl = "50ms",
  pause = "300ms",
}

local sim = netsim.new { seed = 1, violations = p.fencing and "fail" or "allow" }
local cl = sim:lock_cluster { servers = 3, delay = "1ms", ttl = p.ttl,
                              fencing = p.tokens, storage_fencing = p.fencing }
local ha, hb = sim:host "a", sim:host "b"
local a = ha:lock_client { cluster = cl, resources = "R1", hold = "100ms" }
local b = hb:lock_client { cluster = cl, resources = "R1", hold = "100ms", start = "5ms" }
ha:pause("30ms", p.pause)                    -- a is inside R1 by then

sim:diagram { hosts = { ha, hb, cl:storage() }, file = "locks_pause_fencing" }
sim:run "10s"

local r = cl:report()
for _, v in ipairs(cl:violations()) do print("violation: " .. v) end
print(string.format("violations=%d rejected_writes=%d a.fenced=%d", r.violations,
                    r.rejected_writes, a:stats().fenced))
netsim.result { violations = r.violations, rejected_writes = r.rejected_writes,
                fenced = r.fenced }
if p.fencing and p.tokens == "quorum" then
  netsim.assert(r.violations == 0, r.first_violation)
  netsim.assert(a:stats().fenced == 1, "a's stale write is rejected")
elseif not p.fencing then
  netsim.assert(r.violations >= 1, "without fencing the pause breaks safety")
end
