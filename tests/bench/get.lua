-- get.lua: plain GET of the URL given to wrk (static, bare, /healthz).
local lib = dofile(os.getenv("BENCH_LUA") .. "/lib.lua")
setup = lib.setup
done = lib.done
