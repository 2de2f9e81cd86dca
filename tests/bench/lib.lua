-- lib.lua: what the wrk scripts of tests/bench/ share. Loaded by each
-- script with dofile(); wrk runs one Lua state per thread plus one for
-- setup() and done().
--
-- Every script prints, from done(), one line "BENCH {json}" with the
-- request count, duration, error counts and latency percentiles, which
-- tests/bench/drive.py reads (wrk's own text report is not parsed).
local M = {}

-- setup() runs in the main state once per thread: give each thread a
-- number so that threads walk their lists from different places, and
-- keep the thread for done().
local threads = {}
function M.setup(thread)
	thread:set("tid", #threads)
	threads[#threads + 1] = thread
end

-- Splits a line on tabs.
function M.fields(line)
	local t = {}
	for f in (line .. "\t"):gmatch("([^\t]*)\t") do t[#t + 1] = f end
	return t
end

-- The lines of a file as formatted requests: METHOD<TAB>PATH<TAB>
-- BEARER<TAB>BODY (BODY may be empty). With first, step and count: only
-- lines first+1, first+1+step, ... up to first+count (a thread's share).
function M.requests(path, first, step, count)
	local reqs, n = {}, 0
	first, step = first or 0, step or 1
	count = count or math.huge
	for l in io.lines(path) do
		n = n + 1
		if n > first + count then break end
		if #l > 0 and n > first and (n - first - 1) % step == 0 then
			local f = M.fields(l)
			local headers = { ["Authorization"] = "Bearer " .. f[3] }
			local body = f[4]
			if body ~= nil and #body > 0 then
				headers["Content-Type"] = "application/json"
			else
				body = nil
			end
			reqs[#reqs + 1] = wrk.format(f[1], f[2], headers, body)
		end
	end
	return reqs
end

-- Ends the whole run now, from a thread's script: stops this thread and
-- sends wrk itself SIGINT, on which wrk stops the other threads (within
-- its 100 ms tick), measures the duration up to now and reports as at
-- the end of -d. Needs LuaJIT's ffi (wrk is built with LuaJIT).
local ffi
function M.finish()
	if not ffi then
		ffi = require("ffi")
		ffi.cdef("int kill(int pid, int sig); int getpid(void);")
	end
	wrk.thread:stop()
	ffi.C.kill(ffi.C.getpid(), 2)
end

-- Per-thread counters a script keeps in globals of these names; done()
-- sums them over the threads into the BENCH line, and gives the largest
-- as "NAME_max".
local counters = { "sent", "unexpected", "ended" }

function M.done(summary, latency, requests)
	local e = summary.errors
	local extra = ""
	for _, name in ipairs(counters) do
		local sum, max
		for _, t in ipairs(threads) do
			local v = t:get(name)
			if v ~= nil then
				sum = (sum or 0) + v
				max = math.max(max or v, v)
			end
		end
		if sum ~= nil then
			extra = extra .. string.format(',"%s":%d,"%s_max":%d',
			    name, sum, name, max)
		end
	end
	io.write(string.format('BENCH {"requests":%d,"duration_us":%d,' ..
	    '"bytes":%d,"errors_connect":%d,"errors_read":%d,' ..
	    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,' ..
	    '"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f' ..
	    '%s}\n',
	    summary.requests, summary.duration, summary.bytes, e.connect,
	    e.read, e.write, e.status, e.timeout, latency:percentile(50),
	    latency:percentile(90), latency:percentile(99), latency.max,
	    latency.mean, extra))
end

return M
