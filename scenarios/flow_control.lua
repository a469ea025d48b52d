-- flow_control.lua — a fast sender and a slow reader: the transfer runs at
-- the reader's pace, not the link's, because the receive window only
-- reopens as fast as the application reads.  Midway the reader stops for
-- a while: the window closes to zero, the sender stops and sends
-- zero-window probes (RFC 9293 3.8.6.1) until the reader resumes.
--
--   netsim scenarios/flow_control.lua -D read=2Mbps -D rcvbuf=32KiB

local netsim = require "netsim"

local p = netsim.params {
  read   = "1Mbps",      -- how fast the application reads
  rcvbuf = "64KiB",      -- the receiver's buffer = its largest window
  bytes  = "1MiB",
  stall  = "3s",         -- the reader stops reading at 2 s for this long
}

local sim = netsim.new { seed = 1 }
local a, b = sim:host "sender", sim:host "reader"
sim:link(a, b, { rate = "100Mbps", delay = "10ms" })
sim:diagram { hosts = { a, b }, file = "flow_control" }

local finished_at
b:tcp_listen(5001, {
  rcvbuf = p.rcvbuf,
  on_accept = function(conn)
    conn:set_read_rate(p.read)
    sim:at("2s", function() conn:set_read_rate("8bps") end)          -- stalls
    sim:at(2 + p.stall, function() conn:set_read_rate(p.read) end)   -- resumes
    conn:on_close(function() finished_at = sim:now(); conn:close() end)
  end,
})
a:tcp_bulk(b, 5001, { bytes = p.bytes })
sim:tcp_trace { every = "100ms" }
sim:trace { kinds = { "tcp.state", "tcp.persist" } }
sim:run "60s"

local reading = finished_at - p.stall
local rate = p.bytes * 8 / reading
print(string.format("%.0f bytes read in %.2f s (%.1f s of it stalled): %.3f Mbit/s while reading"
                    .. " (reader: %.3f Mbit/s, link: 100)",
                    p.bytes, finished_at, p.stall, rate / 1e6, p.read / 1e6))
netsim.result { seconds = finished_at, goodput_bps = rate }
-- The reader sets the pace: within 10% of its rate while it reads.
netsim.assert(math.abs(rate - p.read) / p.read < 0.10, "the transfer runs at the reader's pace")
