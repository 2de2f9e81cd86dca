-- lines.lua: authenticated requests prepared in advance. args: FILE,
-- whose lines are METHOD<TAB>PATH<TAB>BEARER<TAB>BODY (BODY may be
-- empty): one per member, voucher or pass. All requests are formatted
-- once in init(); each thread then cycles through them from its own
-- starting point, so consecutive requests come from different callers.
local lib = dofile(os.getenv("BENCH_LUA") .. "/lib.lua")
setup = lib.setup
done = lib.done

local reqs, n, i

function init(args)
	reqs = lib.requests(args[1])
	assert(#reqs > 0, args[1] .. " is empty")
	n = #reqs
	i = ((tid or 0) * 7919) % n
end

function request()
	i = i + 1
	return reqs[i % n + 1]
end
