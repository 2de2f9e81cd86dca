-- ids.lua: the SQL baselines. args: METHOD PATH LO HI. Each request
-- names another member id in [LO, HI] (?id=N), walked from a different
-- place by each thread, so that rows differ as they do for perkd.
local lib = dofile(os.getenv("BENCH_LUA") .. "/lib.lua")
setup = lib.setup
done = lib.done

local method, path, lo, span, i

function init(args)
	method, path = args[1], args[2]
	lo = tonumber(args[3])
	span = tonumber(args[4]) - lo + 1
	i = (tid or 0) * 7919
end

function request()
	i = i + 1
	return wrk.format(method, path .. "?id=" .. (lo + i % span))
end
