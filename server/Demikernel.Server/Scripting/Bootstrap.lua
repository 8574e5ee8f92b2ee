-- Runs once per Lua state, before the globals are locked. `native` holds the C# functions; everything a script
-- sees is built here on top of them. Chunk name "@__redis_internal": the error handler skips these frames, so an
-- error is reported at the user's line, as redis-server does.
local native, mode = ...
local type, tostring, select, error, rawget, rawset, setmetatable, next =
      type, tostring, select, error, rawget, rawset, setmetatable, next
local _pcall, _xpcall = pcall, xpcall
local sfind, ssub, sgsub = string.find, string.sub, string.gsub
local dbg = debug
local G = _G

-- ---- Lua 5.1 names that scripts written for redis-server rely on ----
unpack = table.unpack
loadstring = function(s, name)
  if type(s) == 'string' and ssub(s, 1, 1) == '\27' then return nil, 'bytecode prohibited' end
  return load(s, name, 't')
end
local _load = load
load = function(chunk, name, mode_, env)
  if type(chunk) == 'string' and ssub(chunk, 1, 1) == '\27' then return nil, 'bytecode prohibited' end
  if env == nil then return _load(chunk, name, 't') end
  return _load(chunk, name, 't', env)
end
table.getn = function(t) return #t end
table.setn = function() error("'setn' is obsolete", 2) end
table.maxn = function(t)
  local m = 0
  for k in next, t do if type(k) == 'number' and k > m then m = k end end
  return m
end
table.foreach = function(t, f)
  for k, v in next, t do local r = f(k, v) if r ~= nil then return r end end
end
table.foreachi = function(t, f)
  for i = 1, #t do local r = f(i, t[i]) if r ~= nil then return r end end
end
math.mod = math.fmod
math.pow = function(x, y) return x ^ y end
math.log10 = function(x) return math.log(x, 10) end
math.ldexp = function(m, e) return m * 2.0 ^ e end
math.frexp = function(x)
  if x == 0 or x ~= x or x == math.huge or x == -math.huge then return x, 0 end
  local e = math.floor(math.log(math.abs(x), 2)) + 1
  local m = x / 2.0 ^ e
  if math.abs(m) >= 1 then m = m / 2; e = e + 1 elseif math.abs(m) < 0.5 then m = m * 2; e = e - 1 end
  return m, e
end
math.cosh = function(x) return (math.exp(x) + math.exp(-x)) / 2 end
math.sinh = function(x) return (math.exp(x) - math.exp(-x)) / 2 end
math.tanh = function(x) local a, b = math.exp(x), math.exp(-x) return (a - b) / (a + b) end
gcinfo = function() return collectgarbage('count') // 1 end
string.gfind = string.gmatch

-- ---- redis-server's own math.random (rand48, the same sequence on every platform) ----
local rand48 = native.rand48
math.random = function(...)
  local r = (rand48() % 2147483647) / 2147483647
  local n = select('#', ...)
  if n == 0 then return r end
  local l, u = ...
  if n == 1 then
    u = math.tointeger(l) or (type(l) == 'number' and l // 1) or error("bad argument #1 to 'random' (number expected)", 2)
    if u < 1 then error("bad argument #1 to 'random' (interval is empty)", 2) end
    return math.floor(r * u) + 1
  elseif n == 2 then
    l = math.tointeger(l) or (type(l) == 'number' and l // 1) or error("bad argument #1 to 'random' (number expected)", 2)
    u = math.tointeger(u) or (type(u) == 'number' and u // 1) or error("bad argument #2 to 'random' (number expected)", 2)
    if l > u then error("bad argument #2 to 'random' (interval is empty)", 2) end
    return math.floor(r * (u - l + 1)) + l
  end
  error('wrong number of arguments', 2)
end
math.randomseed = function(s)
  local n = math.tointeger(s) or (type(s) == 'number' and s // 1) or error("bad argument #1 to 'randomseed' (number expected)", 2)
  native.srand48(n)
end

-- ---- error objects: redis.pcall's and redis.error_reply's {err='CODE message'} ----
-- luaPushErrorBuff: "-CODE msg" keeps CODE, "msg" gets ERR; CR/LF trimmed from the ends of msg.
local function error_table(e)
  local code, msg
  if ssub(e, 1, 1) == '-' then
    local sp = sfind(e, ' ', 1, true)
    if sp then code, msg = ssub(e, 2, sp - 1), ssub(e, sp + 1) else code, msg = 'ERR', ssub(e, 2) end
  else
    code, msg = 'ERR', e
  end
  msg = sgsub(sgsub(msg, '^[\r\n]+', ''), '[\r\n]+$', '')
  return { err = code .. ' ' .. msg }
end

local redis = {}
local ncall = native.call
-- redis.call must be a C function: a Lua wrapper called as `return redis.call(...)` would be a tail call that drops
-- the user's frame, and the error could no longer name the user's line. coroutine.wrap's function is C: it resumes
-- a coroutine that makes the call and raises the error table from the caller's frame. An error ends that coroutine,
-- so a fresh one is made after anything that catches errors (pcall, xpcall, coroutine.resume, the script's end).
local cowrap, coyield = coroutine.wrap, coroutine.yield
local call_dead = false
local function call_loop(...)
  local r, raise = ncall(...)
  if raise then
    call_dead = true
    error(r, 0)
  end
  return call_loop(coyield(r))
end
redis.call = cowrap(call_loop)
local function refresh_call()
  if call_dead then
    call_dead = false
    redis.call = cowrap(call_loop)
  end
end
redis.pcall = function(...)
  return (ncall(...))
end
redis.sha1hex = function(...)
  if select('#', ...) ~= 1 then error(error_table('wrong number of arguments'), 0) end
  return native.sha1hex((...))
end
redis.error_reply = function(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then return error_table('wrong number or type of arguments') end
  if ssub(e, 1, 1) ~= '-' then e = '-' .. e end
  return error_table(e)
end
redis.status_reply = function(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then return error_table('wrong number or type of arguments') end
  return { ok = s }
end
redis.log = function(...)
  local n = select('#', ...)
  if n < 2 then error(error_table('redis.log() requires two arguments or more.'), 0) end
  local level = ...
  if not math.tointeger(level) and type(tonumber(level)) ~= 'number' then
    error(error_table('First argument must be a number (log level).'), 0)
  end
  level = tonumber(level) // 1
  if level < 0 or level > 3 then error(error_table('Invalid debug level.'), 0) end
  local parts = {}
  for i = 2, n do
    local v = select(i, ...)
    local t = type(v)
    if t == 'string' or t == 'number' then parts[#parts + 1] = tostring(v) end
  end
  native.log(level, table.concat(parts, ' '))
end
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.setresp = function(...)
  if select('#', ...) ~= 1 then error(error_table('redis.setresp() requires one argument.'), 0) end
  local v = tonumber((...))
  if v ~= 2 and v ~= 3 then error(error_table('RESP version must be 2 or 3.'), 0) end
  native.setresp(v // 1)
end
redis.set_repl = function(...)
  if select('#', ...) ~= 1 then error(error_table('redis.set_repl() requires two arguments.'), 0) end
  local f = (tonumber((...)) or 0) // 1
  if f & ~3 ~= 0 then
    error(error_table('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.'), 0)
  end
  native.set_repl(f)
end
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.replicate_commands = function() return true end
redis.breakpoint = function() return false end
redis.debug = function() end
redis.acl_check_cmd = function(...)
  if select('#', ...) == 0 then error(error_table('Please specify at least one argument for this redis lib call'), 0) end
  for i = 1, select('#', ...) do
    local t = type((select(i, ...)))
    if t ~= 'string' and t ~= 'number' then
      error(error_table('Lua redis lib command arguments must be strings or integers'), 0)
    end
  end
  local allowed = native.acl_check(...) -- the caller's user (ACLCheckAllUserCommandPerm, nothing logged)
  if allowed == nil then
    error(error_table('Invalid command passed to redis.acl_check_cmd()'), 0)
  end
  return allowed
end
redis.REDIS_VERSION = native.version
redis.REDIS_VERSION_NUM = native.version_num
G.redis = redis

-- pcall as redis-server 7 overrides it: an error table comes back as its message string.
local tpack, tunpack = table.pack, table.unpack
G.pcall = function(f, ...)
  local r = tpack(_pcall(f, ...))
  refresh_call()
  if not r[1] and type(r[2]) == 'table' then
    local e = rawget(r[2], 'err')
    if type(e) == 'string' or type(e) == 'number' then r[2] = e end
  end
  return tunpack(r, 1, r.n)
end
G.xpcall = function(f, h, ...)
  local r = tpack(_xpcall(f, h, ...))
  refresh_call()
  return tunpack(r, 1, r.n)
end
local coresume = coroutine.resume
coroutine.resume = function(co, ...)
  local r = tpack(coresume(co, ...))
  refresh_call()
  return tunpack(r, 1, r.n)
end

-- ---- the error handler (redis's __redis__err__handler), skipping C frames and this file's ----
local function handler(err)
  local level, i = 2, dbg.getinfo(2, 'Sl')
  while i and (i.what == 'C' or i.source == '@__redis_internal') do
    level = level + 1
    i = dbg.getinfo(level, 'Sl')
  end
  if type(err) ~= 'table' then err = { err = 'ERR ' .. tostring(err) } end
  if i then
    err.source = i.source
    err.line = i.currentline
  end
  return err
end

-- What the C# side resumes on the script thread: f with its arguments, errors turned into tables.
local function run(f, ...)
  local ok, r = _xpcall(f, handler, ...)
  refresh_call()
  return ok, r
end

-- ---- the sandbox: what redis-server 7.0 leaves, read-only ----
G.io, G.os, G.package, G.require, G.dofile, G.loadfile, G.print, G.utf8, G.warn, G.debug = nil
local function readonly() error('Attempt to modify a readonly table', 2) end
local protected = {}
local function protect(t)
  local p = setmetatable({}, {
    __index = t, __newindex = readonly, __metatable = false,
    __pairs = function() return next, t, nil end, __len = function() return #t end,
  })
  protected[p] = true
  return p
end
for _, name in ipairs({ 'string', 'table', 'math', 'coroutine', 'redis', 'cjson', 'bit', 'struct', 'cmsgpack' }) do
  if type(rawget(G, name)) == 'table' then rawset(G, name, protect(rawget(G, name))) end
end
local _rawset = rawset
G.rawset = function(t, k, v)
  if protected[t] then error('Attempt to modify a readonly table', 2) end
  return _rawset(t, k, v)
end
local function missing(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end
local env_mt = {
  __index = G, __newindex = readonly, __metatable = false,
  __pairs = function() return next, G, nil end,
}
local env = setmetatable({}, env_mt)
protected[env] = true
rawset(G, '_G', env)
setmetatable(G, { __index = missing, __metatable = false })

-- ---- FUNCTION LOAD: while a library's code runs, its globals are only `redis` with register_function, log and
-- the version (redis-server's library API); its functions see the full globals when FCALL runs them.
local load_library = nil
if mode == 'function' then
  local loading = nil
  local known_flags = { ['no-writes'] = true, ['allow-oom'] = true, ['allow-stale'] = true, ['no-cluster'] = true,
                        ['allow-cross-slot-keys'] = true }
  local function fail(msg) error(error_table(msg), 0) end
  local lredis = {}
  lredis.register_function = function(...)
    if loading == nil then fail('redis.register_function can only be called on FUNCTION LOAD command') end
    local argc = select('#', ...)
    if argc < 1 or argc > 2 then fail('wrong number of arguments to redis.register_function') end
    local name, fn, desc, flags = nil, nil, nil, {}
    if argc == 1 then
      local t = ...
      if type(t) ~= 'table' then
        fail('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).')
      end
      for k, v in next, t do
        if type(k) ~= 'string' and type(k) ~= 'number' then fail('named argument key given to redis.register_function is not a string') end
        local key = string.lower(tostring(k))
        if key == 'function_name' then
          if type(v) ~= 'string' and type(v) ~= 'number' then fail('function_name argument given to redis.register_function must be a string') end
          name = tostring(v)
        elseif key == 'description' then
          if type(v) ~= 'string' and type(v) ~= 'number' then fail('description argument given to redis.register_function must be a string') end
          desc = tostring(v)
        elseif key == 'callback' then
          if type(v) ~= 'function' then fail('callback argument given to redis.register_function must be a function') end
          fn = v
        elseif key == 'flags' then
          if type(v) ~= 'table' then fail('flags argument to redis.register_function must be a table representing function flags') end
          local i = 1
          while true do
            local f = v[i]
            if f == nil then break end
            if type(f) ~= 'string' and type(f) ~= 'number' then fail('unknown flag given') end
            f = string.lower(tostring(f))
            if not known_flags[f] then fail('unknown flag given') end
            flags[#flags + 1] = f
            i = i + 1
          end
        else
          fail('unknown argument given to redis.register_function')
        end
      end
      if name == nil then fail('redis.register_function must get a function name argument') end
      if fn == nil then fail('redis.register_function must get a callback argument') end
    else
      local n, f = ...
      if type(n) ~= 'string' and type(n) ~= 'number' then fail('first argument to redis.register_function must be a string') end
      if type(f) ~= 'function' then fail('second argument to redis.register_function must be a function') end
      name, fn = tostring(n), f
    end
    if #name == 0 or string.find(name, '[^%w_]') then
      fail('Library names can only contain letters, numbers, or underscores(_) and must be at least one character long')
    end
    if loading.names[name] then fail('Function already exists in the library') end
    loading.names[name] = true
    loading[#loading + 1] = { name = name, fn = fn, desc = desc, flags = flags }
  end
  lredis.log = redis.log
  lredis.LOG_DEBUG, lredis.LOG_VERBOSE, lredis.LOG_NOTICE, lredis.LOG_WARNING = 0, 1, 2, 3
  lredis.REDIS_VERSION, lredis.REDIS_VERSION_NUM = redis.REDIS_VERSION, redis.REDIS_VERSION_NUM
  setmetatable(lredis, { __index = missing })
  local load_globals = setmetatable({ redis = protect(lredis) }, { __index = missing, __metatable = false })
  -- FUNCTION LOAD's time limit (redis's luaEngineLoadHook): a Lua hook, so the timeout error unwinds Lua frames
  -- only; once past the limit it fires on every line, so a pcall in the library cannot swallow it.
  local now_ms = native.now_ms
  load_library = function(chunk, timeout_ms)
    loading = { names = {} }
    env_mt.__index = load_globals
    if timeout_ms > 0 then
      local started = now_ms()
      local function expired()
        local running = dbg.getinfo(2, 'S')
        if running and running.source == '@__redis_internal' then return end -- never in this loader's own lines
        if now_ms() - started > timeout_ms then
          dbg.sethook(expired, 'l')
          error(error_table('FUNCTION LOAD timeout'), 0)
        end
      end
      dbg.sethook(expired, '', 100000)
    end
    local ok, err = _pcall(chunk)
    dbg.sethook()
    env_mt.__index = G
    refresh_call()
    local regs = loading
    loading = nil
    if not ok then
      if type(err) == 'table' then return false, tostring(rawget(err, 'err')) end
      return false, 'ERR ' .. tostring(err)
    end
    return true, regs
  end
end
-- Where a suspended script thread stopped (SCRIPT KILL's error names that line).
local function where(co)
  local level = 0
  while true do
    local i = dbg.getinfo(co, level, 'Sl')
    if not i then return nil, nil end
    if i.what ~= 'C' and i.source ~= '@__redis_internal' then return i.source, i.currentline end
    level = level + 1
  end
end
return env, run, G, load_library, where
