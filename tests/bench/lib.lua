-- lib.lua: what the wrk scripts of tests/bench/ share. Loaded by each
-- script with dofile(); wrk runs one Lua state per thread plus one for
-- setup() and done().
--
-- Every script prints, from done(), one line "BENCH {json}" with the
-- request count, duration, error counts and latency percentiles, which
-- tests/bench/drive.py reads (wrk's own text report is not parsed).
local M = {}

-- setup() runs in the main state once per thread: give each thread a
-- number so that threads walk their lists from different places.
local nthreads = 0
function M.setup(thread)
	thread:set("tid", nthreads)
	nthreads = nthreads + 1
end

-- The non-empty lines of a file.
function M.lines(path)
	local t = {}
	for l in io.lines(path) do
		if #l > 0 then t[#t + 1] = l end
	end
	assert(#t > 0, path .. " is empty")
	return t
end

-- Splits a line on tabs.
function M.fields(line)
	local t = {}
	for f in (line .. "\t"):gmatch("([^\t]*)\t") do t[#t + 1] = f end
	return t
end

function M.done(summary, latency, requests)
	local e = summary.errors
	io.write(string.format('BENCH {"requests":%d,"duration_us":%d,' ..
	    '"bytes":%d,"errors_connect":%d,"errors_read":%d,' ..
	    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,' ..
	    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
	    summary.requests, summary.duration, summary.bytes, e.connect,
	    e.read, e.write, e.status, e.timeout, latency:percentile(50),
	    latency:percentile(90), latency:percentile(99), latency.max,
	    latency.mean))
end

return M
