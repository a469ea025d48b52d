-- locks_race.lua — clients race for ONE lock on a majority of lock servers,
-- and nobody wins.  Two races in one simulation, each with its own LAN and
-- lock cluster.
--
-- Part one: three clients, three servers, majority quorum (2 of 3),
-- strategy `wait` (hold what you got and wait for the rest).  Each client
-- asks the servers starting from a different one, so each wins a different
-- server first: a holds ls1, b holds ls2, c holds ls3, and each waits on the
-- other two servers behind their holders.  Nobody can reach two of three: a
-- deadlock between a, b and c, spread over three machines, with no single
-- server seeing anything wrong.
--
-- Part two, the even split (cluster "split"): 2 clients on 4 servers,
-- majority 3; x wins split_ls1 and split_ls2, y wins split_ls3 and
-- split_ls4, and neither can get a third.  With two clients on three
-- servers this cannot happen (one always holds two of three): majority
-- locking trades the single point of failure for this.  Must a client
-- release what it holds?  `release_all` says yes (no deadlock, but
-- retries), `detect` finds the cycle and aborts the youngest.
--
--   netsim scenarios/locks_race.lua                          -- both deadlocks
--   netsim scenarios/locks_race.lua -D strategy=release_all   -- give up, retry
--   netsim scenarios/locks_race.lua -D strategy=detect        -- break the cycles
--   netsim scenarios/locks_race.lua -D clients=2 -D split=false  -- part one only,
--                                                  2 on 3: no deadlock
--
-- -D strategy applies to both parts; -D clients and -D servers size part
-- one only (part two is always 2 on 4); -D split=false leaves part two out.
--
-- Outputs, part one: locks_race.txt/.mmd (the race, DEADLOCK marked where
-- it forms), waitfor.txt/.dot/.mmd (the wait-for graph, the cycle in red),
-- holds.tsv; part two: locks_race_split.txt/.mmd, waitfor_split.txt/.dot/
-- .mmd, holds_split.tsv; both: events.tsv (lock.* events).

local netsim = require "netsim"

local p = netsim.params {
  duration = "1s",        -- how long to watch: deadlocked clients keep asking every RTO
  clients = 3,
  servers = 3,
  strategy = "wait",        -- wait | release_all | ordered | wait_die | wound_wait | detect
  hold = "5ms",
  split = true,             -- also run part two, the 2-2 split of 4 servers
}
netsim.assert(p.clients >= 2 and p.clients <= 8, "clients: 2..8")

local sim = netsim.new { seed = 1 }

-- One race: n clients (named by `names`) on a cluster, client i starting at
-- server 1 + (i-1)*servers/clients and going round: its first request leaves
-- its port first, so it reaches "its" server before anyone else's request
-- does.  Each part has its own sequence diagram, named `file`; its wait-for
-- files and holds table are named after the cluster (part one keeps the
-- names it had when it ran alone).
local function race(cl, names, n, file)
  local clients, watched = {}, {}
  local servers = #cl:servers()
  for i = 1, n do
    clients[i] = sim:host(names[i]):lock_client {
      cluster = cl, strategy = p.strategy, resources = "R1", hold = p.hold,
      first_server = 1 + (i - 1) * servers // n,
    }
    watched[#watched + 1] = sim:host_named(names[i])
  end
  for _, s in ipairs(cl:servers()) do watched[#watched + 1] = s end
  sim:diagram { hosts = watched, file = file }
  cl:waitfor_files()                    -- waitfor, or waitfor_<cluster name>
  cl:holds_table()                      -- holds(_split): plots/lock_gantt.gp
  return { cl = cl, clients = clients, servers = servers }
end

local one = race(sim:lock_cluster { servers = p.servers, delay = "1ms" },   -- majority
                 { "a", "b", "c", "d", "e", "f", "g", "h" }, p.clients, "locks_race")
local two = p.split and race(sim:lock_cluster { servers = 4, delay = "1ms", name = "split" },
                             { "x", "y" }, 2, "locks_race_split")

sim:run(p.duration)

local function show(title, part)
  local cl = part.cl
  local r = cl:report()
  print(string.format("%s: %d clients, %d servers, quorum %d, strategy %s", title,
                      #part.clients, part.servers, cl:quorum(), p.strategy))
  for i, s in ipairs(cl:servers()) do
    io.write(string.format("  %s holder of R1: %s\n", s:name(), cl:holder(i, "R1") or "-"))
  end
  for _, c in ipairs(part.clients) do
    local s = c:stats()
    print(string.format("  %-2s %-10s acquisitions=%d retries=%d", c:name(), s.state,
                        s.acquisitions, s.retries))
  end
  local waiting = cl:waiting()
  if waiting ~= "" then io.write("  still waiting at the end:\n", (waiting:gsub("[^\n]+", "  %0"))) end
  if r.deadlocks > 0 then
    print(string.format("  deadlock formed at %.9f; blocked at the end: %d of %d",
                        r.first_deadlock, r.blocked, #part.clients))
  end
  return r
end

local r = show("part one", one)
local r2 = two and show("part two (split)", two)

local result = { clients = p.clients, servers = p.servers, strategy = p.strategy,
                 acquisitions = r.acquisitions, retries = r.retries, deadlocks = r.deadlocks,
                 blocked = r.blocked }
if r2 then
  result.split_acquisitions = r2.acquisitions
  result.split_retries = r2.retries
  result.split_deadlocks = r2.deadlocks
  result.split_blocked = r2.blocked
end
netsim.result(result)

-- What each race must show, from its clients and servers.
local function check(part, r, what)
  local n, servers = #part.clients, part.servers
  netsim.assert(r.violations == 0, r.first_violation)
  if p.strategy == "wait" and servers % n == 0 then
    -- Each client won servers/clients servers: fewer than a majority.
    netsim.assert(r.deadlocks >= 1 and r.blocked == n and r.acquisitions == 0,
                  what .. ": the staged race deadlocks")
  elseif p.strategy == "wait" and n == 2 and servers % 2 == 1 then
    netsim.assert(r.deadlocks == 0 and r.acquisitions == 2,
                  what .. ": two clients on an odd number of servers: one always wins a majority")
  elseif p.strategy ~= "wait" then
    netsim.assert(r.waiting == 0 and r.acquisitions == n,
                  what .. ": every client gets the lock under " .. p.strategy)
  end
end
check(one, r, "part one")
if r2 then check(two, r2, "part two") end
