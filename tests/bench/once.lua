-- once.lua: requests prepared in advance, each sent at most once. args:
-- FILE FIRST COUNT NTHREADS PATTERN [OUT]. FILE's lines are as for
-- lines.lua; this run uses lines FIRST+1 to FIRST+COUNT, thread t (of
-- NTHREADS, wrk's -t) every NTHREADS-th of them from FIRST+1+t. A thread
-- that has sent its share sends nothing more (delay()); once all of its
-- share is answered it ends the run (lib.finish: wrk reports the
-- duration up to then), so that no line is ever sent twice; otherwise
-- wrk's -d ends it. Every answer's body must match the Lua PATTERN, else
-- it counts as "unexpected"; with OUT, each thread appends the pattern's
-- first capture of every answer to the file OUT.<thread>, one a line.
-- done() adds "sent" (lines used; "sent_max": by the thread that used
-- most), "unexpected" and "ended" (threads whose whole share was
-- answered) to the BENCH line.
local lib = dofile(os.getenv("BENCH_LUA") .. "/lib.lua")
setup = lib.setup
done = lib.done

local reqs, pattern, out, granted, answered, spare
sent, unexpected, ended = 0, 0, 0

function init(args)
	local t = tid or 0
	local nthreads = tonumber(args[4])
	assert(t < nthreads, "NTHREADS is less than wrk's -t")
	reqs = lib.requests(args[1], tonumber(args[2]) + t, nthreads,
	    tonumber(args[3]) - t)
	pattern = args[5]
	if args[6] then out = io.open(args[6] .. "." .. t, "a") end
	granted, answered = 0, 0
	spare = wrk.format("GET", "/healthz")
end

-- wrk asks before each request of a connection (then calls request()):
-- 0 while the share lasts; after it, the connection waits longer than
-- any run, so it sends nothing more
function delay()
	if granted < #reqs then
		granted = granted + 1
		return 0
	end
	return 3600000
end

function request()
	if sent >= granted then
		-- not after delay(): wrk checking the script before the run
		-- (this request is not sent), else a reconnect's (unexpected)
		return reqs[sent + 1] or spare
	end
	sent = sent + 1
	return reqs[sent]
end

function response(status, headers, body)
	local m = body and body:match(pattern)
	answered = answered + 1
	if not m then
		unexpected = unexpected + 1
	elseif out then
		out:write(m, "\n")
		out:flush()
	end
	if answered >= #reqs and ended == 0 then
		ended = 1
		lib.finish()
	end
end
