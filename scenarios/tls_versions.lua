-- tls_versions.lua — round trips before the client's first application
-- byte, side by side: TLS 1.2 full and resumed (RFC 5246, RFC 5077
-- ticket), TLS 1.3 full, with HelloRetryRequest, PSK-resumed and 0-RTT
-- (RFC 8446), at every RTT in `rtts`.
--
--   netsim scenarios/tls_versions.lua
--   netsim scenarios/tls_versions.lua -D rtts=20ms,80ms
--   gnuplot -e "dir='out/tls_versions'" plots/tls_versions.gp
--
-- Each (mode, RTT) runs on its own client/server pair and link, so the
-- runs cannot disturb each other.  Resumed modes make a first connection
-- at 0 s and measure a second one at 2 s offering its session.  Counted
-- from the SYN; 0-RTT counts its early data, which leaves with the
-- ClientHello.  Writes versions.tsv (first byte in ms per mode and RTT).
local netsim = require "netsim"

local p = netsim.params { rtts = "10ms,20ms,50ms,80ms,100ms,150ms,200ms", rate = "100Mbps" }

local modes = {
  { name = "1.2 full",    col = "tls12_full_ms",    version = "1.2", expect = 3 },
  { name = "1.2 resumed", col = "tls12_resumed_ms", version = "1.2", expect = 2, resume = true },
  { name = "1.3 full",    col = "tls13_full_ms",    version = "1.3", expect = 2 },
  { name = "1.3 HRR",     col = "tls13_hrr_ms",     version = "1.3", expect = 3, hrr = true },
  { name = "1.3 resumed", col = "tls13_resumed_ms", version = "1.3", expect = 2, resume = true },
  { name = "1.3 0-RTT",   col = "tls13_0rtt_ms",    version = "1.3", expect = 1, resume = true,
    early = "GET /early HTTP/1.1\r\n\r\n" },
}

local rtts = {}
for s in tostring(p.rtts):gmatch("[^,]+") do rtts[#rtts + 1] = netsim.time(s) end
netsim.assert(#rtts > 0, "rtts lists at least one round-trip time")

local sim = netsim.new { seed = 1 }
sim:trace { kinds = { "tls.handshake", "tls.first_byte", "tls.alert", "tls.error" } }

-- One pair per (mode, rtt): results[mode][rtt index] = the measured conn.
local results, got_early = {}, {}
for mi, m in ipairs(modes) do
  results[mi] = {}
  for ri, rtt in ipairs(rtts) do
    local tag = string.format("m%d_r%d", mi, ri)
    local c, s = sim:host("c_" .. tag), sim:host("s_" .. tag)
    sim:link(c, s, { rate = p.rate, delay = rtt / 2 })
    s:tls_listen(443, {
      group = m.hrr and "secp256r1" or "x25519",
      on_data = function(conn, data)
        if data:match("^GET /early") then got_early[tag] = true end
      end,
    })
    local function connect(resume)
      return c:tls_connect(s, 443, {
        version = m.version, resume = resume,
        early_data = resume and m.early or nil,
        on_established = function(conn)
          if not (resume and m.early) then conn:send("GET / HTTP/1.1\r\n\r\n") end
        end,
      })
    end
    local first = connect(nil)
    if m.resume then
      sim:at(2, function() results[mi][ri] = connect(first) end)
    else
      results[mi][ri] = first
    end
  end
end

sim:run "30s"

local cols = { "rtt_ms" }
for _, m in ipairs(modes) do cols[#cols + 1] = m.col end
local tbl = sim:table("versions", cols)

print(string.format("%-12s %s", "first byte", "round trips after the SYN (ms) at RTT ="))
local head = string.format("%-12s", "mode")
for _, rtt in ipairs(rtts) do head = head .. string.format(" %13s", string.format("%g ms", rtt * 1000)) end
print(head)
for mi, m in ipairs(modes) do
  local line = string.format("%-12s", m.name)
  for ri, rtt in ipairs(rtts) do
    local i = results[mi][ri]:info()
    netsim.assert(i.version == m.version, m.name .. ": negotiated " .. tostring(i.version))
    netsim.assert(i.rtts and math.abs(i.rtts - m.expect) < 0.1,
      string.format("%s at %g ms: %s RTT, expected %d", m.name, rtt * 1000, tostring(i.rtts), m.expect))
    netsim.assert(i.resumed == (m.resume or false), m.name .. ": resumed is " .. tostring(i.resumed))
    if m.early then
      netsim.assert(i.early_data == "accepted", m.name .. ": early data " .. tostring(i.early_data))
      netsim.assert(got_early[string.format("m%d_r%d", mi, ri)], m.name .. ": the server got the early data")
    end
    if m.hrr then netsim.assert(i.hello_retries == 1, "one HelloRetryRequest") end
    line = line .. string.format(" %4.2f (%6.1f)", i.rtts, (i.first_byte_at - i.started_at) * 1000)
  end
  print(line)
end

for ri, rtt in ipairs(rtts) do
  local row = { rtt * 1000 }
  for mi in ipairs(modes) do
    local i = results[mi][ri]:info()
    row[#row + 1] = math.floor((i.first_byte_at - i.started_at) * 1e6 + 0.5) / 1000
  end
  tbl:row(table.unpack(row))
end

local r = {}
for mi, m in ipairs(modes) do r["rtts_" .. m.col:gsub("_ms$", "")] = results[mi][1]:info().rtts end
netsim.result(r)
