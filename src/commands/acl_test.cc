// The ACL model (commands/acl.h): the rule parser, the matcher against key specs and
// channels, the description ACL LIST shows, the file format; and the engine's gate.

#include "commands/acl.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "commands/test_util.h"

namespace ferrite {
namespace {

std::vector<std::string_view> V(const std::vector<std::string>& v) { return {v.begin(), v.end()}; }

class AclTest : public ::testing::Test {
 protected:
  acl::Acl& A() { return h.engine().acl(); }
  acl::Result Check(const std::string& user, std::vector<std::string> line, int* pos = nullptr) {
    const CommandSpec* spec = h.engine().commands().Lookup(V(line));
    EXPECT_NE(spec, nullptr) << line[0];
    auto args = V(line);
    return A().Check(A().Find(user), *spec, args, pos);
  }
  void Set(const std::string& user, std::vector<std::string> rules) {
    auto err = A().SetUser(user, rules);
    ASSERT_FALSE(err.has_value()) << *err;
  }
  EngineHarness h;
};

TEST_F(AclTest, PasswordHashIsSha256Hex) {
  // echo -n foobar | sha256sum
  EXPECT_EQ(acl::HashPassword("foobar"),
            "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2");
}

TEST_F(AclTest, DefaultUserOutOfTheBox) {
  EXPECT_EQ(A().Describe(*A().default_user()), "on nopass ~* &* +@all");
  EXPECT_TRUE(acl::Acl::Unrestricted(A().default_user()));
}

TEST_F(AclTest, NewUserIsOffWithNothing) {
  Set("u", {});
  EXPECT_EQ(A().Describe(*A().Find("u")), "off resetchannels -@all");
  EXPECT_EQ(Check("u", {"get", "k"}), acl::kDeniedCmd);
}

TEST_F(AclTest, PasswordsAddRemoveAndErrors) {
  Set("u", {"on", ">p1", ">p2", "#" + acl::HashPassword("p3")});
  EXPECT_EQ(A().Find("u")->passwords.size(), 3u);
  EXPECT_NE(A().CheckCredentials("u", "p1"), nullptr);
  EXPECT_NE(A().CheckCredentials("u", "p3"), nullptr);
  EXPECT_EQ(A().CheckCredentials("u", "nope"), nullptr);
  Set("u", {"<p1", "!" + acl::HashPassword("p3")});
  EXPECT_EQ(A().CheckCredentials("u", "p1"), nullptr);
  EXPECT_NE(A().CheckCredentials("u", "p2"), nullptr);
  EXPECT_EQ(*A().SetUser("u", {"<zzz"}),
            "Error in ACL SETUSER modifier '<zzz': The password you are trying to remove from "
            "the user does not exist");
  EXPECT_EQ(*A().SetUser("u", {"#abc"}),
            "Error in ACL SETUSER modifier '#abc': The password hash must be exactly 64 "
            "characters and contain only lowercase hexadecimal characters");
  Set("u", {"off"});
  EXPECT_EQ(A().CheckCredentials("u", "p2"), nullptr);  // disabled
  Set("u", {"on", "nopass"});
  EXPECT_NE(A().CheckCredentials("u", "anything"), nullptr);
  Set("u", {"resetpass"});
  EXPECT_EQ(A().CheckCredentials("u", "anything"), nullptr);
}

TEST_F(AclTest, FailedSetUserChangesNothing) {
  Set("u", {"on", "+get"});
  EXPECT_EQ(*A().SetUser("u", {"+set", "+nosuchcommand"}),
            "Error in ACL SETUSER modifier '+nosuchcommand': Unknown command or category name "
            "in ACL");
  EXPECT_EQ(Check("u", {"set", "k", "v"}), acl::kDeniedCmd);
  EXPECT_EQ(*A().SetUser("v", {"bogus"}), "Error in ACL SETUSER modifier 'bogus': Syntax error");
  EXPECT_EQ(A().Find("v"), nullptr);
}

TEST_F(AclTest, CommandsCategoriesAndSubcommands) {
  Set("u", {"on", "allkeys", "+@read", "-get", "+client|list", "+config|get"});
  EXPECT_EQ(Check("u", {"mget", "a", "b"}), acl::kOk);
  EXPECT_EQ(Check("u", {"get", "a"}), acl::kDeniedCmd);
  EXPECT_EQ(Check("u", {"set", "a", "b"}), acl::kDeniedCmd);
  EXPECT_EQ(Check("u", {"client", "list"}), acl::kOk);
  EXPECT_EQ(Check("u", {"client", "kill", "id", "1"}), acl::kDeniedCmd);
  EXPECT_EQ(Check("u", {"config", "get", "x"}), acl::kOk);
  EXPECT_EQ(Check("u", {"config", "set", "x", "y"}), acl::kDeniedCmd);
  // A container's rule covers its subcommands; -cmd|sub removes one.
  Set("u", {"+config", "-config|set"});
  EXPECT_EQ(Check("u", {"config", "resetstat"}), acl::kOk);
  EXPECT_EQ(Check("u", {"config", "set", "x", "y"}), acl::kDeniedCmd);
  // First-arg of a command without subcommands.
  Set("u", {"+select|0"});
  EXPECT_EQ(Check("u", {"select", "0"}), acl::kOk);
  EXPECT_EQ(Check("u", {"select", "1"}), acl::kDeniedCmd);
  EXPECT_EQ(*A().SetUser("u", {"+config|get|x"}),
            "Error in ACL SETUSER modifier '+config|get|x': Allowing first-arg of a subcommand "
            "is not supported");
  EXPECT_EQ(*A().SetUser("u", {"+@nosuchcat"}),
            "Error in ACL SETUSER modifier '+@nosuchcat': Unknown command or category name in "
            "ACL");
  Set("u", {"nocommands"});
  EXPECT_EQ(Check("u", {"mget", "a"}), acl::kDeniedCmd);
  Set("u", {"allcommands"});
  EXPECT_EQ(Check("u", {"flushall"}), acl::kOk);
}

TEST_F(AclTest, KeyPatternsWithReadWriteSelectors) {
  Set("u", {"on", "+@all", "~app:*", "%R~ro:*", "%W~wo:*"});
  int pos = -1;
  EXPECT_EQ(Check("u", {"get", "app:1"}), acl::kOk);
  EXPECT_EQ(Check("u", {"get", "other"}, &pos), acl::kDeniedKey);
  EXPECT_EQ(pos, 1);
  EXPECT_EQ(Check("u", {"get", "ro:1"}), acl::kOk);
  EXPECT_EQ(Check("u", {"set", "ro:1", "v"}), acl::kDeniedKey);
  EXPECT_EQ(Check("u", {"set", "wo:1", "v"}), acl::kOk);
  EXPECT_EQ(Check("u", {"get", "wo:1"}), acl::kDeniedKey);
  // LMOVE reads and deletes from the source, inserts into the destination.
  EXPECT_EQ(Check("u", {"lmove", "ro:1", "wo:1", "left", "right"}), acl::kDeniedKey);
  EXPECT_EQ(Check("u", {"lmove", "app:1", "wo:1", "left", "right"}), acl::kOk);
  EXPECT_EQ(Check("u", {"mset", "app:1", "v", "x", "v"}, &pos), acl::kDeniedKey);
  EXPECT_EQ(pos, 3);
  EXPECT_EQ(A().DescribeKeys(A().Find("u")->selectors[0]), "~app:* %R~ro:* %W~wo:*");
  // %RW~ is ~; a pattern after allkeys is an error.
  Set("u", {"resetkeys", "%RW~x"});
  EXPECT_EQ(A().DescribeKeys(A().Find("u")->selectors[0]), "~x");
  EXPECT_EQ(*A().SetUser("u", {"%X~y"}), "Error in ACL SETUSER modifier '%X~y': Syntax error");
  Set("u", {"allkeys"});
  EXPECT_EQ(*A().SetUser("u", {"~y"}),
            "Error in ACL SETUSER modifier '~y': Adding a pattern after the * pattern (or the "
            "'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start "
            "with an empty list of patterns");
}

TEST_F(AclTest, Channels) {
  Set("u", {"on", "+@all", "allkeys", "resetchannels", "&news.*"});
  int pos = 0;
  EXPECT_EQ(Check("u", {"publish", "news.1", "m"}), acl::kOk);
  EXPECT_EQ(Check("u", {"publish", "sport", "m"}), acl::kDeniedChannel);
  EXPECT_EQ(Check("u", {"subscribe", "news.a", "sport"}, &pos), acl::kDeniedChannel);
  EXPECT_EQ(pos, 2);
  // A PSUBSCRIBE pattern must be one of the user's patterns, literally.
  EXPECT_EQ(Check("u", {"psubscribe", "news.*"}), acl::kOk);
  EXPECT_EQ(Check("u", {"psubscribe", "news.1*"}), acl::kDeniedChannel);
  EXPECT_EQ(Check("u", {"unsubscribe", "sport"}), acl::kOk);
  Set("u", {"allchannels"});
  EXPECT_EQ(Check("u", {"publish", "sport", "m"}), acl::kOk);
}

TEST_F(AclTest, SelectorsAnyOneAllows) {
  Set("u", {"on", "+get", "~a*", "(+set ~b*)"});
  EXPECT_EQ(Check("u", {"get", "a1"}), acl::kOk);
  EXPECT_EQ(Check("u", {"set", "b1", "v"}), acl::kOk);
  EXPECT_EQ(Check("u", {"set", "a1", "v"}), acl::kDeniedKey);  // selector 2 says key
  EXPECT_EQ(Check("u", {"get", "b1"}), acl::kDeniedKey);
  EXPECT_EQ(Check("u", {"del", "a1"}), acl::kDeniedCmd);
  EXPECT_EQ(A().Describe(*A().Find("u")),
            "on ~a* resetchannels -@all +get (~b* resetchannels -@all +set)");
  Set("u", {"clearselectors"});
  EXPECT_EQ(Check("u", {"set", "b1", "v"}), acl::kDeniedCmd);
  auto err = A().SetUser("u", {"(+get", "~x"});
  EXPECT_EQ(*err, "Unmatched parenthesis in acl selector starting at '(+get'.");
}

TEST_F(AclTest, ResetAndDescribeRoundTrip) {
  Set("u", {"on", ">pw", "~k*", "&c", "+@all", "-@dangerous", "(+get ~z)"});
  std::string d = A().Describe(*A().Find("u"));
  // Applying the description to a fresh user gives the same description.
  std::vector<std::string> rules;
  size_t i = 0;
  while (i < d.size()) {
    size_t sp = d.find(' ', i);
    if (sp == std::string::npos) sp = d.size();
    rules.push_back(d.substr(i, sp - i));
    i = sp + 1;
  }
  Set("copy", rules);
  EXPECT_EQ(A().Describe(*A().Find("copy")), d);
  EXPECT_NE(d.find("-@dangerous"), std::string::npos) << d;
  Set("u", {"reset"});
  EXPECT_EQ(A().Describe(*A().Find("u")), "off sanitize-payload resetchannels -@all");
}

TEST_F(AclTest, FileRoundTripAndErrors) {
  std::string path = ::testing::TempDir() + "/acl_test_users.acl";
  Set("alice", {"on", ">secret", "~app:*", "+@read"});
  ASSERT_TRUE(A().SaveFile(path).ok());
  std::string alice = A().Describe(*A().Find("alice"));
  ASSERT_EQ(A().Remove("alice") != nullptr, true);
  std::vector<std::unique_ptr<acl::User>> dropped;
  EXPECT_FALSE(A().LoadFile(path, &dropped).has_value());
  ASSERT_NE(A().Find("alice"), nullptr);
  EXPECT_EQ(A().Describe(*A().Find("alice")), alice);
  EXPECT_NE(A().CheckCredentials("alice", "secret"), nullptr);
  // A bad file changes nothing.
  {
    std::ofstream f(path);
    f << "user bob on +nosuch\nnotuser x\n";
  }
  auto err = A().LoadFile(path, &dropped);
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(*err, path +
                      ":1: Error in applying operation '+nosuch': Unknown command or "
                      "category name in ACL. " +
                      path +
                      ":2 should start with user keyword followed by the username. WARNING: "
                      "ACL errors detected, no change to the previously active ACL rules was "
                      "performed");
  EXPECT_NE(A().Find("alice"), nullptr);
  EXPECT_EQ(A().Find("bob"), nullptr);
  unlink(path.c_str());
}

TEST_F(AclTest, EngineGateAuthAndLog) {
  Set("app", {"on", ">pw", "~app:*", "+@all", "-flushall"});
  Client c(h.engine());
  EXPECT_EQ(c.Run({"auth", "app", "bad"}),
            "-WRONGPASS invalid username-password pair or user is disabled.\r\n");
  EXPECT_EQ(c.Run({"auth", "app", "pw"}), "+OK\r\n");
  EXPECT_EQ(c.Run({"acl", "whoami"}), "$3\r\napp\r\n");
  EXPECT_EQ(c.Run({"set", "app:1", "v"}), "+OK\r\n");
  EXPECT_EQ(c.Run({"set", "x", "v"}),
            "-NOPERM this user has no permissions to access one of the keys used as "
            "arguments\r\n");
  EXPECT_EQ(c.Run({"flushall"}),
            "-NOPERM this user has no permissions to run the 'flushall' command\r\n");
  auto& log = A().log();
  ASSERT_EQ(log.size(), 3u);
  EXPECT_EQ(log[0].object, "flushall");
  EXPECT_EQ(log[1].object, "x");
  EXPECT_EQ(log[1].reason, acl::kDeniedKey);
  EXPECT_EQ(log[2].reason, acl::kDeniedAuth);
  EXPECT_EQ(log[2].username, "app");
  // Queued commands are checked again at EXEC.
  EXPECT_EQ(c.Run({"multi"}), "+OK\r\n");
  EXPECT_EQ(c.Run({"set", "app:2", "v"}), "+QUEUED\r\n");
  Set("app", {"-set"});
  EXPECT_EQ(c.Run({"exec"}),
            "*1\r\n-NOPERM ACLs rules changed between the moment the transaction was "
            "accumulated and the EXEC call. This command is no longer allowed for the following "
            "reason: no permission to execute the command or subcommand\r\n");
  // Deleting the user disconnects its clients.
  EXPECT_EQ(h.Run({"acl", "deluser", "app"}), ":1\r\n");
  EXPECT_TRUE(c.s->kill_now);
  EXPECT_FALSE(c.s->authenticated);
}

}  // namespace
}  // namespace ferrite
