-- locks_pause_fencing.lua — a paused holder and fencing tokens.  a holds
-- R1 and stops (a stop-the-world pause) past its lease; b takes R1 and
-- works; a wakes and finishes its write with its old token.
--
-- With fencing (the default) the storage server has seen b's newer token
-- and rejects a's stale write: no safety violation, one rejected write.
-- With -D fencing=false it accepts both, and the oracle reports two
-- clients inside R1 at once (the time, the clients and the seed).
--
-- The what-if -D tokens=naive: a token is the highest per-server grant
-- counter of the client's quorum, and counters that differ across servers
-- cannot be compared across quorums.  So first a warm-up makes them
-- differ: w1 locks R1 three times while ls1 is cut off (through ls2 and
-- ls3), then w2 three times while ls3 is cut off (through ls1 and ls2):
-- ls2 has granted R1 6 times, ls1 and ls3 3 times each.  a then locks R1
-- on {ls1, ls2} (naive token 7); b, which asks ls3 first, gets ls3 and,
-- when a's lease runs out, ls1 (naive token 5).  The storage rejects the
-- legitimate b and accepts the paused a's stale write: the misordering
-- the well-known critique of majority locking is about.  Quorum tokens
-- (read the highest register of the quorum, write it + 1 back) give b 8.
-- With -D tokens=none every token is 0 and nothing is fenced.
--
--   netsim scenarios/locks_pause_fencing.lua
--   netsim scenarios/locks_pause_fencing.lua -D fencing=false   -- violation
--   netsim scenarios/locks_pause_fencing.lua -D tokens=naive    -- misordered
--   netsim scenarios/locks_pause_fencing.lua -D tokens=none     -- violation

local netsim = require "netsim"

local p = netsim.params {
  fencing = true,           -- the storage server checks tokens
  tokens = "quorum",        -- quorum | naive | none
  ttl = "50ms",
  pause = "60ms",
}

-- Only quorum tokens checked by the storage keep R1 safe: every other
-- combination is a what-if whose violations are the point.
local safe = p.fencing and p.tokens == "quorum"
local sim = netsim.new { seed = 1, violations = safe and "fail" or "allow" }
local cl = sim:lock_cluster { servers = 3, delay = "1ms", ttl = p.ttl,
                              fencing = p.tokens, storage_fencing = p.fencing }
local ls = cl:servers()

-- The warm-up: two maintenance windows, three critical sections in each.
local w1 = sim:host("w1"):lock_client { cluster = cl, resources = "R1", hold = "1ms",
                                        transactions = 3, first_server = 2 }
cl:partition { at = 0, duration = "100ms", hosts = { ls[1] } }
local w2 = sim:host("w2"):lock_client { cluster = cl, resources = "R1", hold = "1ms",
                                        transactions = 3, start = "100ms" }
cl:partition { at = "100ms", duration = "100ms", hosts = { ls[3] } }

local ha, hb = sim:host "a", sim:host "b"
local a = ha:lock_client { cluster = cl, resources = "R1", hold = "100ms", start = "200ms" }
local b = hb:lock_client { cluster = cl, resources = "R1", hold = "100ms", start = "205ms",
                           first_server = 3 }
ha:pause("230ms", p.pause)                   -- a is inside R1 by then

sim:diagram { hosts = { ha, hb, cl:storage() }, file = "locks_pause_fencing" }
sim:run "10s"

local r = cl:report()
local sa, sb = a:stats(), b:stats()
for _, v in ipairs(cl:violations()) do print("violation: " .. v) end
print(string.format("violations=%d rejected_writes=%d a.fenced=%d b.fenced=%d", r.violations,
                    r.rejected_writes, sa.fenced, sb.fenced))
if r.violations > 0 then
  print("what happened: a and b were inside R1 at once: the storage could not tell "
        .. "the stale holder from the new one (" .. p.tokens .. " tokens, fencing "
        .. tostring(p.fencing) .. ")")
elseif sa.fenced > 0 and sb.fenced == 0 then
  print("what happened: a's write after its pause was rejected: b, the holder after "
        .. "a's lease ran out, had shown a newer token (writes in lock order)")
elseif sb.fenced > 0 and sa.fenced == 0 then
  print(string.format("what happened: b, the legitimate holder after a's lease ran out, "
        .. "was rejected %d time(s) while a's stale write after its pause was accepted: "
        .. "%s tokens misordered the holders", sb.fenced, p.tokens))
else
  print("what happened: neither write was rejected nor did the holders overlap")
end
netsim.result { violations = r.violations, rejected_writes = r.rejected_writes,
                fenced = r.fenced, a_fenced = sa.fenced, b_fenced = sb.fenced }
if safe then
  netsim.assert(r.violations == 0, r.first_violation)
  netsim.assert(sa.fenced == 1 and sb.fenced == 0, "a's stale write is rejected, b's are not")
elseif not p.fencing then
  netsim.assert(r.violations >= 1, "without fencing the pause breaks safety")
end
