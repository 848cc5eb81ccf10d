// The fault-injection file system's model of Linux (failed fsync, directory entries) and
// the atomic-replace helper, each checked against what survives SimulateCrash().

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/atomic_file.h"
#include "io/fault_injection_fs.h"

namespace ferrite {
namespace {

class FaultFsTest : public ::testing::Test {
 protected:
  FaultFsTest() : fs_(FileSystem::Default()) {
    char tmpl[] = "/tmp/ferrite-io-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  ~FaultFsTest() override { std::filesystem::remove_all(dir_); }
  std::string P(const std::string& name) const { return dir_ + "/" + name; }
  static std::string Read(const std::string& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
  }
  static bool Exists(const std::string& p) { return std::filesystem::exists(p); }
  std::unique_ptr<WritableFile> Open(const std::string& p, bool append = false) {
    auto f = fs_.NewWritableFile(p, append);
    EXPECT_TRUE(f.ok());
    return std::move(f.value());
  }
  std::string dir_;
  FaultInjectionFileSystem fs_;
};

// Linux after a writeback error: the failed fsync's pages are dropped and marked clean,
// the next fsync returns 0 — and the bytes are gone after a crash, although later bytes
// of the same file were synced (a hole in the middle).
TEST_F(FaultFsTest, FailedFsyncDiscardsItsBytesAndTheNextFsyncSucceeds) {
  auto f = Open(P("a"));
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  ASSERT_TRUE(f->Append("11111").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(f->Append("22222").ok());
  fs_.FailSyncs(1);
  EXPECT_FALSE(f->Sync().ok());
  ASSERT_TRUE(f->Append("33333").ok());
  EXPECT_TRUE(f->Sync().ok());                 // "succeeds"
  EXPECT_EQ(Read(P("a")), "111112222233333");  // the page cache still has them
  f.reset();
  ASSERT_TRUE(fs_.SimulateCrash().ok());
  EXPECT_EQ(Read(P("a")), std::string("11111") + std::string(5, '\0') + "33333");
}

TEST_F(FaultFsTest, NewFileVanishesWithoutADirectorySync) {
  auto f = Open(P("new"));
  ASSERT_TRUE(f->Append("data").ok());
  ASSERT_TRUE(f->Sync().ok());  // its bytes are durable, its name is not
  f.reset();
  ASSERT_TRUE(fs_.SimulateCrash().ok());
  EXPECT_FALSE(Exists(P("new")));
}

TEST_F(FaultFsTest, NewFileSurvivesOnceItsDirectoryIsSynced) {
  auto f = Open(P("new"));
  ASSERT_TRUE(f->Append("data").ok());
  ASSERT_TRUE(f->Sync().ok());
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  ASSERT_TRUE(f->Append("more").ok());  // never synced
  f.reset();
  ASSERT_TRUE(fs_.SimulateCrash().ok());
  EXPECT_EQ(Read(P("new")), "data");
}

TEST_F(FaultFsTest, RenameIsUndoneWithoutADirectorySync) {
  {
    std::ofstream(P("target")) << "old";  // made outside the wrapper: durable as it is
  }
  auto f = Open(P("target.tmp"));
  ASSERT_TRUE(f->Append("new").ok());
  ASSERT_TRUE(f->Sync().ok());
  f.reset();
  ASSERT_TRUE(fs_.RenameFile(P("target.tmp"), P("target")).ok());
  EXPECT_EQ(Read(P("target")), "new");
  ASSERT_TRUE(fs_.SimulateCrash().ok());
  EXPECT_EQ(Read(P("target")), "old");
  EXPECT_FALSE(Exists(P("target.tmp")));  // it was never durably named either
}

TEST_F(FaultFsTest, RenameOfADurableFileComesBackUnderItsOldName) {
  auto f = Open(P("x"));
  ASSERT_TRUE(f->Append("x").ok());
  ASSERT_TRUE(f->Sync().ok());
  f.reset();
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  ASSERT_TRUE(fs_.RenameFile(P("x"), P("y")).ok());
  ASSERT_TRUE(fs_.SimulateCrash().ok());
  EXPECT_EQ(Read(P("x")), "x");
  EXPECT_FALSE(Exists(P("y")));
}

TEST_F(FaultFsTest, DeletedFileComesBackWithoutADirectorySyncAndLinksFollowTheRule) {
  auto f = Open(P("d"));
  ASSERT_TRUE(f->Append("keep").ok());
  ASSERT_TRUE(f->Sync().ok());
  f.reset();
  ASSERT_TRUE(fs_.SyncDir(dir_).ok());
  ASSERT_TRUE(fs_.LinkFile(P("d"), P("d2")).ok());
  ASSERT_TRUE(fs_.DeleteFile(P("d")).ok());
  ASSERT_TRUE(fs_.SimulateCrash().ok());
  EXPECT_EQ(Read(P("d")), "keep");
  EXPECT_FALSE(Exists(P("d2")));
}

TEST_F(FaultFsTest, KilledProcessChangesNothing) {
  fs_.KillNow();
  EXPECT_FALSE(fs_.NewWritableFile(P("z"), false).ok());
  EXPECT_FALSE(Exists(P("z")));
  ASSERT_TRUE(fs_.SimulateCrash().ok());
  EXPECT_FALSE(fs_.NewWritableFile(P("z"), false).ok());  // still the dead process
  fs_.Restart();
  EXPECT_TRUE(fs_.NewWritableFile(P("z"), false).ok());
}

TEST_F(FaultFsTest, WriteFileAtomicallySurvivesACrashWhole) {
  ASSERT_TRUE(WriteFileAtomically(&fs_, P("m"), "one").ok());
  ASSERT_TRUE(WriteFileAtomically(&fs_, P("m"), "two").ok());
  EXPECT_FALSE(Exists(P("m.tmp")));
  ASSERT_TRUE(fs_.SimulateCrash().ok());
  EXPECT_EQ(Read(P("m")), "two");
}

TEST_F(FaultFsTest, AtomicFileReportsARenameWhoseDirectorySyncFailed) {
  ASSERT_TRUE(WriteFileAtomically(&fs_, P("m"), "one").ok());
  auto f = AtomicFile::Create(&fs_, P("m"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f.value()->file()->Append("two").ok());
  fs_.FailDirSyncs(1);
  bool renamed = false;
  EXPECT_FALSE(f.value()->Commit(&renamed).ok());
  EXPECT_TRUE(renamed);
  EXPECT_EQ(Read(P("m")), "two");  // in place, but not durably
  ASSERT_TRUE(fs_.SimulateCrash().ok());
  EXPECT_EQ(Read(P("m")), "one");
}

TEST_F(FaultFsTest, AtomicFileFailureBeforeTheRenameKeepsTheOldFile) {
  ASSERT_TRUE(WriteFileAtomically(&fs_, P("m"), "one").ok());
  auto f = AtomicFile::Create(&fs_, P("m"));
  ASSERT_TRUE(f.ok());
  ASSERT_TRUE(f.value()->file()->Append("two").ok());
  fs_.FailSyncs(1);
  bool renamed = true;
  EXPECT_FALSE(f.value()->Commit(&renamed).ok());
  EXPECT_FALSE(renamed);
  EXPECT_EQ(Read(P("m")), "one");
  EXPECT_FALSE(Exists(P("m.tmp")));
}

}  // namespace
}  // namespace ferrite
