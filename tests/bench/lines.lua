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
	reqs = {}
	for _, line in ipairs(lib.lines(args[1])) do
		local f = lib.fields(line)
		local headers = { ["Authorization"] = "Bearer " .. f[3] }
		local body = f[4]
		if body ~= nil and #body > 0 then
			headers["Content-Type"] = "application/json"
		else
			body = nil
		end
		reqs[#reqs + 1] = wrk.format(f[1], f[2], headers, body)
	end
	n = #reqs
	i = ((tid or 0) * 7919) % n
end

function request()
	i = i + 1
	return reqs[i % n + 1]
end
