// Client-side caching in-process (commands/tracking.h): which key changes reach which
// client, in which bytes, and when (after the changing client's own reply; BCAST before
// the loop sleeps), the table's bookkeeping and its limit.

#include <gtest/gtest.h>

#include "commands/test_util.h"

namespace ferrite {
namespace {

std::string Push(const std::string& key) {
  return ">2\r\n$10\r\ninvalidate\r\n*1\r\n$" + std::to_string(key.size()) + "\r\n" + key + "\r\n";
}

class TrackingTest : public ::testing::Test {
 protected:
  EngineHarness h;
  Engine& e = h.engine();
};

TEST_F(TrackingTest, ReadKeysAreInvalidatedOnceByAnotherClientsWrite) {
  Client c(e, true), w(e);
  EXPECT_EQ(c.Run({"client", "tracking", "on"}), "+OK\r\n");
  c.Run({"get", "k"});
  c.Run({"mget", "a", "b"});
  EXPECT_EQ(e.tracking().total_keys(), 3u);
  EXPECT_EQ(e.tracking().total_items(), 3u);
  w.Run({"set", "k", "1"});
  EXPECT_EQ(c.Take(), Push("k"));
  w.Run({"set", "k", "2"});  // forgotten after the first change
  EXPECT_EQ(c.Take(), "");
  w.Run({"set", "zzz", "1"});  // never read
  EXPECT_EQ(c.Take(), "");
  EXPECT_EQ(e.tracking().total_keys(), 2u);
}

TEST_F(TrackingTest, OwnChangeFollowsTheReplyAndNoloopSkipsIt) {
  Client c(e, true);
  c.Run({"client", "tracking", "on"});
  c.Run({"get", "k"});
  EXPECT_EQ(c.Run({"set", "k", "v"}), "+OK\r\n" + Push("k"));
  c.Run({"client", "tracking", "on", "noloop"});
  c.Run({"get", "k"});
  EXPECT_EQ(c.Run({"set", "k", "v"}), "+OK\r\n");
  EXPECT_EQ(c.Take(), "");
}

TEST_F(TrackingTest, ExpiryAndFlushInvalidate) {
  Client c(e, true), w(e);
  c.Run({"client", "tracking", "on"});
  w.Run({"set", "k", "v", "px", "100"});
  c.Run({"get", "k"});
  h.clock().AdvanceMs(200);
  EXPECT_EQ(w.Run({"get", "k"}), "$-1\r\n");  // lazy expiry by another client
  EXPECT_EQ(c.Take(), Push("k"));
  c.Run({"get", "x"});
  w.Run({"flushall"});
  EXPECT_EQ(c.Take(), ">2\r\n$10\r\ninvalidate\r\n_\r\n");
  EXPECT_EQ(e.tracking().total_keys(), 0u);
  // The flushing client's own null follows its reply.
  EXPECT_EQ(c.Run({"flushdb"}), "+OK\r\n>2\r\n$10\r\ninvalidate\r\n_\r\n");
}

TEST_F(TrackingTest, BcastCollectsUntilBeforeSleep) {
  Client c(e, true), w(e);
  c.Run({"client", "tracking", "on", "bcast", "prefix", "a:", "noloop"});
  w.Run({"set", "a:2", "1"});
  w.Run({"set", "a:1", "1"});
  c.Run({"set", "a:3", "1"});  // by c itself: left out (NOLOOP)
  w.Run({"set", "b:1", "1"});
  EXPECT_EQ(c.Take(), "");
  e.BeforeSleep();
  EXPECT_EQ(c.Take(), ">2\r\n$10\r\ninvalidate\r\n*2\r\n$3\r\na:1\r\n$3\r\na:2\r\n");
  e.BeforeSleep();
  EXPECT_EQ(c.Take(), "");
  EXPECT_EQ(e.tracking().total_prefixes(), 1u);
  c.Close();
  EXPECT_EQ(e.tracking().total_prefixes(), 0u);
  EXPECT_EQ(e.tracking().clients(), 0u);
}

TEST_F(TrackingTest, TableLimitEvictsKeysWithInvalidations) {
  Client c(e, true), w(e);
  c.Run({"client", "tracking", "on"});
  for (int i = 0; i < 50; i++) c.Run({"get", "k" + std::to_string(i)});
  EXPECT_EQ(e.tracking().total_keys(), 50u);
  w.Run({"config", "set", "tracking-table-max-keys", "10"});
  w.Run({"ping"});  // the next command trims the table first
  EXPECT_EQ(e.tracking().total_keys(), 10u);
  std::string got = c.Take();
  size_t n = 0;
  for (size_t p = 0; (p = got.find("invalidate", p)) != std::string::npos; p++) n++;
  EXPECT_EQ(n, 40u);
}

TEST_F(TrackingTest, RedirectTargetGoneMarksBroken) {
  Client c(e, true), w(e);
  auto t = std::make_unique<Client>(e);
  uint64_t tid = t->s->id;
  c.Run({"client", "tracking", "on", "redirect", std::to_string(tid)});
  c.Run({"get", "k"});
  t.reset();
  w.Run({"set", "k", "1"});
  EXPECT_EQ(c.Take(), ">2\r\n$21\r\ntracking-redir-broken\r\n:" + std::to_string(tid) + "\r\n");
  EXPECT_TRUE(c.s->tracking.broken_redir);
  EXPECT_EQ(c.Run({"client", "getredir"}), ":" + std::to_string(tid) + "\r\n");
}

TEST_F(TrackingTest, CachingCoversOneCommand) {
  Client c(e, true), w(e);
  c.Run({"client", "tracking", "on", "optin"});
  c.Run({"client", "caching", "yes"});
  c.Run({"client", "id"});  // a CLIENT command keeps it
  c.Run({"get", "a"});
  c.Run({"get", "b"});
  w.Run({"mset", "a", "1", "b", "1"});
  EXPECT_EQ(c.Take(), Push("a"));
}

}  // namespace
}  // namespace ferrite
