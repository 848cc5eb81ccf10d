// In-process tests of the scripting engine: replies, sandbox, conversions, effects units,
// the libraries Ferrite implements itself (struct, cmsgpack) and function libraries.
// The same behaviour is checked against redis-server by tests/integration/test_scripting.py.

#include <gtest/gtest.h>

#include "commands/test_util.h"
#include "scripting/lua_vm.h"
#include "scripting/script_engine.h"

namespace ferrite::scripting {
namespace {

struct Effects : PropagationSink {
  std::vector<std::pair<int, std::vector<std::string>>> got;
  void Propagate(int db, const std::vector<std::string>& argv) override {
    got.emplace_back(db, argv);
  }
};

class ScriptingTest : public ::testing::Test {
 protected:
  ScriptingTest() { se_ = ScriptingEngine::Install(h_.engine()); }
  std::string Run(std::vector<std::string> args) { return h_.Run(std::move(args)); }
  std::string Eval(const std::string& body, std::vector<std::string> rest = {"0"}) {
    std::vector<std::string> a = {"eval", body};
    a.insert(a.end(), rest.begin(), rest.end());
    return Run(a);
  }
  EngineHarness h_;
  std::unique_ptr<ScriptingEngine> se_;
};

TEST_F(ScriptingTest, ReturnsConvertedValues) {
  EXPECT_EQ(Eval("return 1"), ":1\r\n");
  EXPECT_EQ(Eval("return 3.99"), ":3\r\n");
  EXPECT_EQ(Eval("return 'x'"), "$1\r\nx\r\n");
  EXPECT_EQ(Eval("return true"), ":1\r\n");
  EXPECT_EQ(Eval("return false"), "$-1\r\n");
  EXPECT_EQ(Eval("return nil"), "$-1\r\n");
  EXPECT_EQ(Eval("return {1,2,{3,'x'},nil,5}"), "*3\r\n:1\r\n:2\r\n*2\r\n:3\r\n$1\r\nx\r\n");
  EXPECT_EQ(Eval("return {ok='fine'}"), "+fine\r\n");
  EXPECT_EQ(Eval("return redis.error_reply('My Error')"), "-My Error\r\n");
  EXPECT_EQ(Eval("return {double=3.5}"), "$3\r\n3.5\r\n");
  EXPECT_EQ(Eval("return {KEYS[1], ARGV[1]}", {"1", "k", "a"}), "*2\r\n$1\r\nk\r\n$1\r\na\r\n");
}

TEST_F(ScriptingTest, Resp3Conversions) {
  h_.session().resp3 = true;
  EXPECT_EQ(Eval("redis.setresp(3); return {map={a=1}}"), "%1\r\n$1\r\na\r\n:1\r\n");
  EXPECT_EQ(Eval("redis.setresp(3); return true"), "#t\r\n");
  EXPECT_EQ(Eval("return {double=1.5}"), ",1.5\r\n");
  EXPECT_EQ(Eval("return {big_number='123'}"), "(123\r\n");
  EXPECT_EQ(Eval("redis.setresp(3); return redis.call('hgetall','nokey')"), "%0\r\n");
  Run({"sadd", "s", "m"});
  EXPECT_EQ(Eval("redis.setresp(3); return redis.call('smembers','s')"), "~1\r\n$1\r\nm\r\n");
  // RESP2 caller: the map is flattened.
  h_.session().resp3 = false;
  EXPECT_EQ(Eval("return {map={a=1}}"), "*2\r\n$1\r\na\r\n:1\r\n");
}

TEST_F(ScriptingTest, ErrorsCarryScriptAndLine) {
  std::string sha = Sha1Hex("return a");
  EXPECT_EQ(Eval("return a"),
            "-ERR user_script:1: Script attempted to access nonexistent global variable 'a' "
            "script: " +
                sha + ", on @user_script:1.\r\n");
  sha = Sha1Hex("a=10");
  EXPECT_EQ(Eval("a=10"), "-ERR user_script:1: Attempt to modify a readonly table script: " + sha +
                              ", on @user_script:1.\r\n");
  sha = Sha1Hex("return redis.call('nosuch')");
  EXPECT_EQ(
      Eval("return redis.call('nosuch')"),
      "-ERR Unknown Redis command called from script script: " + sha + ", on @user_script:1.\r\n");
  Run({"set", "s", "abc"});
  EXPECT_EQ(Eval("return redis.pcall('incr','s')"),
            "-ERR value is not an integer or out of range\r\n");
}

TEST_F(ScriptingTest, SandboxRefusesTricks) {
  for (const char* s :
       {"setmetatable(_G, {})", "local g = getmetatable(_G); g.__index = {}",
        "redis = function() return 1 end", "_G = {}", "redis.call = function() return 1 end",
        "cjson.encode = nil", "cmsgpack.pack = nil", "bit.lshift = nil", "rawset(_G, 'x', 1)",
        "table.insert(redis, 1)", "getfenv(redis.call).x = 1",
        "getmetatable('').__index.upper = nil"}) {
    EXPECT_NE(Eval(s).find("Attempt to modify a readonly table"), std::string::npos) << s;
  }
  for (const char* g : {"loadfile", "dofile", "print", "os", "io", "require", "debug"}) {
    std::string body = std::string("return ") + g;
    EXPECT_NE(Eval(body).find("nonexistent global variable '" + std::string(g) + "'"),
              std::string::npos)
        << g;
  }
  EXPECT_NE(Eval("return loadstring(string.dump(function() return 1 end))()")
                .find("attempt to call a nil value"),
            std::string::npos);
  // Reads through the proxies work: pairs, rawget, string methods.
  EXPECT_EQ(Eval("local n=0 for k,v in pairs(redis) do n=n+1 end return n > 5"), ":1\r\n");
  EXPECT_EQ(Eval("return rawget(redis, 'call') ~= nil"), ":1\r\n");
  EXPECT_EQ(Eval("return ('abc'):upper()"), "$3\r\nABC\r\n");
}

TEST_F(ScriptingTest, MathRandomIsRedisLrand48) {
  // The values redis-server 7.0.15 gives for the same seeds.
  EXPECT_EQ(Eval("math.randomseed(0) return tostring(math.random())"),
            "$16\r\n0.17082803611217\r\n");
  EXPECT_EQ(Eval("math.randomseed(10) return {tostring(math.random()), math.random(100), "
                 "math.random(5,10)}"),
            "*3\r\n$16\r\n0.87885112309775\r\n:80\r\n:7\r\n");
}

TEST_F(ScriptingTest, EffectsAreOneUnit) {
  Effects fx;
  h_.engine().set_propagation_sink(&fx);
  Eval("redis.call('set','a','1'); redis.call('incr','a'); return 1");
  ASSERT_EQ(fx.got.size(), 4u);
  EXPECT_EQ(fx.got[0].second, std::vector<std::string>{"MULTI"});
  EXPECT_EQ(fx.got[1].second, (std::vector<std::string>{"SET", "a", "1"}));
  EXPECT_EQ(fx.got[2].second, (std::vector<std::string>{"incr", "a"}));
  EXPECT_EQ(fx.got[3].second, std::vector<std::string>{"EXEC"});
  fx.got.clear();
  // One effect is atomic by itself; a read-only script propagates nothing.
  Eval("redis.call('set','b','1')");
  ASSERT_EQ(fx.got.size(), 1u);
  fx.got.clear();
  Eval("return redis.call('get','a')");
  EXPECT_TRUE(fx.got.empty());
  // set_repl(REPL_NONE) drops the effects of the commands after it.
  Eval("redis.set_repl(redis.REPL_NONE); redis.call('set','c','1')");
  EXPECT_TRUE(fx.got.empty());
  h_.engine().set_propagation_sink(nullptr);
}

TEST_F(ScriptingTest, ReadOnlyScriptsRefuseWrites) {
  EXPECT_EQ(Run({"eval_ro", "return redis.call('set','a','1')", "0"}).substr(0, 58),
            "-ERR Write commands are not allowed from read-only scripts");
  EXPECT_EQ(Eval("#!lua flags=no-writes\nreturn redis.call('set','a','1')").substr(0, 58),
            "-ERR Write commands are not allowed from read-only scripts");
  EXPECT_EQ(Run({"eval_ro", "#!lua\nreturn 1", "0"}),
            "-ERR Can not execute a script with write flag using *_ro command.\r\n");
  EXPECT_EQ(Eval("#!lua flags=bogus\nreturn 1"),
            "-ERR Unexpected flag in script shebang: bogus\r\n");
  EXPECT_EQ(Eval("#!foo\nreturn 1"), "-ERR Unexpected engine in script shebang: #!foo\r\n");
}

TEST_F(ScriptingTest, ScriptCacheCommands) {
  std::string sha = Sha1Hex("return 7");
  EXPECT_EQ(Run({"evalsha", sha, "0"}), "-NOSCRIPT No matching script. Please use EVAL.\r\n");
  EXPECT_EQ(Run({"script", "load", "return 7"}), "$40\r\n" + sha + "\r\n");
  EXPECT_EQ(Run({"evalsha", sha, "0"}), ":7\r\n");
  std::string upper = sha;
  for (char& c : upper) c = char(toupper(c));
  EXPECT_EQ(Run({"evalsha", upper, "0"}), ":7\r\n");
  EXPECT_EQ(Run({"script", "exists", sha, "nope"}), "*2\r\n:1\r\n:0\r\n");
  EXPECT_EQ(Run({"script", "flush"}), "+OK\r\n");
  EXPECT_EQ(Run({"script", "exists", sha}), "*1\r\n:0\r\n");
  EXPECT_EQ(Run({"script", "kill"}), "-NOTBUSY No scripts in execution right now.\r\n");
  EXPECT_EQ(Run({"eval", "return 1", "2", "a"}),
            "-ERR Number of keys can't be greater than number of args\r\n");
  EXPECT_EQ(Run({"eval", "return 1", "-1"}), "-ERR Number of keys can't be negative\r\n");
}

TEST_F(ScriptingTest, StructAndCmsgpackMatchRedis) {
  // Values taken from redis-server 7.0.15.
  EXPECT_EQ(Eval("return struct.pack('>I2', 258)"), "$2\r\n\x01\x02\r\n");
  EXPECT_EQ(Eval("return {struct.unpack('<i4', struct.pack('<i4', -5))}"), "*2\r\n:-5\r\n:5\r\n");
  EXPECT_EQ(Eval("return struct.size('!4 b i')"), ":8\r\n");
  EXPECT_EQ(Eval("return cmsgpack.pack({1,2,3})"), "$4\r\n\x93\x01\x02\x03\r\n");
  EXPECT_EQ(Eval("return cmsgpack.pack(0.1)"),
            std::string("$9\r\n\xcb\x3f\xb9\x99\x99\x99\x99\x99\x9a\r\n"));
  EXPECT_EQ(Eval("return cmsgpack.pack(-1099511627776)"),
            std::string("$9\r\n\xd3\xff\xff\xff\x00\x00\x00\x00\x00\r\n", 15));
  EXPECT_EQ(Eval("return cmsgpack.unpack(cmsgpack.pack({a=1}))['a']"), ":1\r\n");
  EXPECT_EQ(Eval("return {cmsgpack.unpack_one(cmsgpack.pack(1,2), 0)}"), "*2\r\n:1\r\n:1\r\n");
  EXPECT_NE(Eval("return cmsgpack.unpack('\\196')").find("Bad data format in input."),
            std::string::npos);
}

TEST_F(ScriptingTest, FunctionsLoadCallListDelete) {
  std::string code =
      "#!lua name=lib1\n"
      "redis.register_function('f1', function(keys, args) return redis.call('set', keys[1], "
      "args[1]) end)\n"
      "redis.register_function{function_name='f2', callback=function() return 2 end, "
      "flags={'no-writes'}, description='two'}";
  EXPECT_EQ(Run({"function", "load", code}), "$4\r\nlib1\r\n");
  EXPECT_EQ(Run({"function", "load", code}), "-ERR Library 'lib1' already exists\r\n");
  EXPECT_EQ(Run({"fcall", "f1", "1", "k", "v"}), "+OK\r\n");
  EXPECT_EQ(Run({"get", "k"}), "$1\r\nv\r\n");
  EXPECT_EQ(Run({"fcall_ro", "f2", "0"}), ":2\r\n");
  EXPECT_EQ(Run({"fcall_ro", "f1", "1", "k", "v"}),
            "-ERR Can not execute a script with write flag using *_ro command.\r\n");
  EXPECT_EQ(Run({"fcall", "nope", "0"}), "-ERR Function not found\r\n");
  EXPECT_EQ(se_->LibraryCodes(), std::vector<std::string>{code});
  std::string dump = Run({"function", "dump"});
  EXPECT_EQ(Run({"function", "delete", "lib1"}), "+OK\r\n");
  EXPECT_EQ(Run({"function", "delete", "lib1"}), "-ERR Library not found\r\n");
  EXPECT_EQ(Run({"function", "load", "#!lua name=x\nreturn 1"}),
            "-ERR No functions registered\r\n");
  EXPECT_NE(Run({"function", "load", "#!lua name=x\nredis.call('ping')"})
                .find("attempted to access nonexistent global variable 'call'"),
            std::string::npos);
  EXPECT_EQ(Run({"function", "load", "return 1"}), "-ERR Missing library metadata\r\n");
}

}  // namespace
}  // namespace ferrite::scripting
