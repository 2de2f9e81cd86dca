-- awards.lua: POST /v1/awards, or /v1/awards/batch with ITEMS awards per
-- request. args: KEY RULE RUN NMEMBERS ITEMS. Every award has its own
-- external_ref ("RUN-thread-hexcounter"), so that none is a replay; members
-- are "b1".."bNMEMBERS" (tests/bench/drive.py enrols them), walked from
-- a different place by each thread. Short names keep a batch of 1,000
-- under the 64 KiB body limit.
local lib = dofile(os.getenv("BENCH_LUA") .. "/lib.lua")
setup = lib.setup
done = lib.done

local headers, rule, run, nmem, items, i, t

function init(args)
	headers = { ["Authorization"] = "Bearer " .. args[1],
	    ["Content-Type"] = "application/json" }
	rule, run = args[2], args[3]
	nmem = tonumber(args[4])
	items = tonumber(args[5])
	t = tid or 0
	i = t * 7919
end

local function award()
	i = i + 1
	return '{"subject":"b' .. (i % nmem + 1) .. '","rule":"' .. rule ..
	    '","external_ref":"' .. run .. '-' .. t .. '-' ..
	    string.format("%x", i) .. '"}'
end

function request()
	if items == 0 then
		return wrk.format("POST", "/v1/awards", headers, award())
	end
	local parts = {}
	for k = 1, items do parts[k] = award() end
	return wrk.format("POST", "/v1/awards/batch", headers,
	    '{"items":[' .. table.concat(parts, ",") .. ']}')
end
