// S3Client against a real S3-compatible server: s3rver (Node.js) started from
// tests/support/s3rver/start.js, which adds strict SigV4 checking (s3rver alone accepts any
// V4 signature) and fault injection. Each server is a child process on a free 127.0.0.1
// port with its data in a temporary directory, killed by PID at the end. Every wait is
// bounded. Install the server with scripts/setup-test-tools.sh.

#include "tier/s3_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace ferrite {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

const fs::path kS3rverDir = fs::path(FERRITE_SOURCE_DIR) / "tests/support/s3rver";
constexpr char kBucket[] = "ferrite-archive";

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  socklen_t len = sizeof(a);
  int port = -1;
  if (bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) {
    port = ntohs(a.sin_port);
  }
  close(fd);
  return port;
}

bool Accepts(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
  close(fd);
  return ok;
}

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One s3rver child process. Start() after Stop() restarts on the same port and directory.
class S3rver {
 public:
  S3rver() : port_(FreePort()) {
    char tmpl[] = "/tmp/ferrite-s3rver-XXXXXX";
    root_ = mkdtemp(tmpl) ? tmpl : "";
  }
  ~S3rver() {
    Stop();
    std::error_code ec;
    if (!root_.empty()) fs::remove_all(root_, ec);
  }

  // "" when the server accepts connections; otherwise why not.
  std::string Start() {
    if (!fs::exists(kS3rverDir / "node_modules/.bin/s3rver")) {
      return "s3rver is not installed (" + (kS3rverDir / "node_modules/.bin/s3rver").string() +
             " is missing): run scripts/setup-test-tools.sh";
    }
    if (root_.empty() || port_ <= 0) return "cannot make a temp dir or find a free port";
    const std::string log = (fs::path(root_) / "s3rver.log").string();
    const std::vector<std::string> args = {
        "node", (kS3rverDir / "start.js").string(), "--directory",
        (fs::path(root_) / "data").string(), "--address", "127.0.0.1", "--port",
        std::to_string(port_), "--silent", "--configure-bucket", kBucket,
        // BUCKET.s3.localhost is virtual-host addressing (curl resolves *.localhost itself).
        "--service-endpoint", "localhost"};
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    int rc = posix_spawnp(&pid_, "node", &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
      pid_ = -1;
      return std::string("cannot start node (Debian: apt-get install nodejs): ") + strerror(rc);
    }
    const auto deadline = Clock::now() + std::chrono::seconds(20);
    while (Clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "s3rver exited at startup; log:\n" + ReadFile(log);
      }
      if (Accepts(port_)) return "";
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    Stop();
    return "s3rver did not listen on port " + std::to_string(port_) + " within 20 s; log:\n" +
           ReadFile(log);
  }

  // Stops the process this object started: SIGTERM, SIGKILL after 5 s.
  void Stop() {
    if (pid_ <= 0) return;
    kill(pid_, SIGTERM);
    const auto deadline = Clock::now() + std::chrono::seconds(5);
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (Clock::now() > deadline) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = -1;
  }

  // The next `count` S3 requests fail with HTTP `status` (start.js fault injection).
  bool FailNext(int count, int status = 503) {
    CURL* h = curl_easy_init();
    std::string url = endpoint() + "/__ferrite/fail?count=" + std::to_string(count) +
                      "&status=" + std::to_string(status);
    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, "");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 5000L);
    long http = 0;
    bool ok = curl_easy_perform(h) == CURLE_OK &&
              curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &http) == CURLE_OK && http == 204;
    curl_easy_cleanup(h);
    return ok;
  }

  // Where s3rver keeps an object's bytes: proves which key the server understood.
  fs::path ObjectPath(const std::string& key) const {
    return fs::path(root_) / "data" / kBucket / (key + "._S3rver_object");
  }
  int port() const { return port_; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }

 private:
  int port_;
  std::string root_;
  pid_t pid_ = -1;
};

S3Options Options(const S3rver& s, std::string bucket = kBucket) {
  S3Options o;
  o.endpoint = s.endpoint();
  o.region = "us-east-1";
  o.bucket = std::move(bucket);
  o.access_key_id = "S3RVER";
  o.secret_access_key = "S3RVER";
  o.connect_timeout_ms = 1000;
  o.request_timeout_ms = 10000;
  return o;
}

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    for (size_t j = 0; j < 8 && i + j < n; ++j) s[i + j] = static_cast<char>(v >> (8 * j));
  }
  return s;
}

bool Contains(const std::string& hay, const std::string& needle) {
  return hay.find(needle) != std::string::npos;
}

// One server shared by the tests that do not stop it.
class S3ClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new S3rver();
    start_error_ = new std::string(server_->Start());
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }
  void SetUp() override { ASSERT_EQ(*start_error_, "") << "the S3 test server did not start"; }

  static S3rver* server_;
  static std::string* start_error_;
};
S3rver* S3ClientTest::server_ = nullptr;
std::string* S3ClientTest::start_error_ = nullptr;

TEST_F(S3ClientTest, PutGetRoundTripsBinaryData) {
  S3Client c(Options(*server_));
  std::string all_bytes;
  for (int i = 0; i < 256; ++i) all_bytes.push_back(static_cast<char>(i));
  all_bytes += std::string(100, '\0');
  ASSERT_TRUE(c.Put("bin/all-bytes", all_bytes).ok());
  Result<std::string> got = c.Get("bin/all-bytes");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, all_bytes);

  // The empty object.
  Status s = c.Put("bin/empty", "");
  ASSERT_TRUE(s.ok()) << s.ToString();
  got = c.Get("bin/empty");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "");
  Result<uint64_t> size = c.Head("bin/empty");
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, 0u);

  // 5 MB (curl sends Expect: 100-continue for bodies this large).
  const std::string big = RandomBytes(5 * 1024 * 1024, 42);
  s = c.Put("bin/big", big);
  ASSERT_TRUE(s.ok()) << s.ToString();
  got = c.Get("bin/big");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(got->size(), big.size());
  EXPECT_TRUE(*got == big);

  // Overwrite replaces.
  ASSERT_TRUE(c.Put("bin/all-bytes", "v2").ok());
  EXPECT_EQ(c.Get("bin/all-bytes").value(), "v2");
}

TEST_F(S3ClientTest, KeysNeedingEscapesAreSignedAndStoredAsGiven) {
  S3Client c(Options(*server_));
  for (const std::string key :
       {"dir/sub/seg-000001.cold", "space and+plus=eq&amp;q?h#x%25y", "tilde~star*paren()'!$,;:@",
        "\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87/\xc3\xbc"}) {
    Status s = c.Put(key, "value of " + key);
    ASSERT_TRUE(s.ok()) << key << ": " << s.ToString();
    Result<std::string> got = c.Get(key);
    ASSERT_TRUE(got.ok()) << key << ": " << got.status().ToString();
    EXPECT_EQ(*got, "value of " + key);
    Result<uint64_t> size = c.Head(key);
    ASSERT_TRUE(size.ok()) << key << ": " << size.status().ToString();
    EXPECT_EQ(*size, ("value of " + key).size());
    EXPECT_EQ(ReadFile(server_->ObjectPath(key)), "value of " + key) << key;
  }
}

TEST_F(S3ClientTest, GetRangeReturnsExactlyTheRange) {
  S3Client c(Options(*server_));
  const std::string data = RandomBytes(1000, 7);
  ASSERT_TRUE(c.Put("range/obj", data).ok());
  struct Case {
    uint64_t offset, length;
  };
  for (Case k : {Case{0, 10}, Case{990, 10}, Case{500, 1}, Case{0, 1000}, Case{123, 456}}) {
    Result<std::string> got = c.GetRange("range/obj", k.offset, k.length);
    ASSERT_TRUE(got.ok()) << k.offset << "+" << k.length << ": " << got.status().ToString();
    EXPECT_EQ(*got, data.substr(k.offset, k.length)) << k.offset << "+" << k.length;
  }
  EXPECT_EQ(c.GetRange("range/obj", 5, 0).value(), "");

  // Running past the end: the store sends what there is; the caller asked for more.
  Result<std::string> past_end = c.GetRange("range/obj", 995, 10);
  ASSERT_FALSE(past_end.ok());
  EXPECT_EQ(past_end.status().code(), Status::Code::kCorruption) << past_end.status().ToString();
  EXPECT_TRUE(Contains(past_end.status().message(), "returned 5 bytes, expected 10"))
      << past_end.status().ToString();

  // Starting past the end: HTTP 416.
  Result<std::string> beyond = c.GetRange("range/obj", 2000, 10);
  ASSERT_FALSE(beyond.ok());
  EXPECT_EQ(beyond.status().code(), Status::Code::kInvalidArgument) << beyond.status().ToString();
  EXPECT_TRUE(Contains(beyond.status().message(), "HTTP 416 InvalidRange"))
      << beyond.status().ToString();

  Result<std::string> missing = c.GetRange("range/missing", 0, 10);
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound) << missing.status().ToString();
}

TEST_F(S3ClientTest, HeadReturnsSizeAndNotFoundForMissingKey) {
  S3Client c(Options(*server_));
  ASSERT_TRUE(c.Put("head/obj", std::string(12345, 'x')).ok());
  Result<uint64_t> size = c.Head("head/obj");
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, 12345u);

  Result<uint64_t> missing = c.Head("head/missing");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Status::Code::kNotFound) << missing.status().ToString();
  EXPECT_TRUE(Contains(missing.status().message(), "S3 HEAD ferrite-archive/head/missing at " +
                                                       server_->endpoint() + ": HTTP 404"))
      << missing.status().ToString();

  Result<std::string> get = c.Get("head/missing");
  EXPECT_EQ(get.status().code(), Status::Code::kNotFound);
  EXPECT_TRUE(Contains(get.status().message(), "HTTP 404 NoSuchKey")) << get.status().ToString();
}

TEST_F(S3ClientTest, DeleteRemovesAndIsIdempotent) {
  S3Client c(Options(*server_));
  ASSERT_TRUE(c.Put("del/obj", "bye").ok());
  Status s = c.Delete("del/obj");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.Head("del/obj").status().code(), Status::Code::kNotFound);
  s = c.Delete("del/obj");
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(S3ClientTest, PutVerified) {
  S3Client c(Options(*server_));
  const std::string data = RandomBytes(300 * 1024, 9);
  Status s = c.PutVerified("verified/obj", data);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_TRUE(c.Get("verified/obj").value() == data);
  s = c.PutVerified("verified/empty", "");
  EXPECT_TRUE(s.ok()) << s.ToString();
}

TEST_F(S3ClientTest, PutVerifiedFailsWhenUploadFails) {
  S3Options o = Options(*server_);
  o.secret_access_key = "wrong";
  S3Client c(o);
  Status s = c.PutVerified("verified/never", "data");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "HTTP 403 SignatureDoesNotMatch")) << s.ToString();
}

TEST_F(S3ClientTest, WrongCredentialsNameStatusAndS3Code) {
  S3Options o = Options(*server_);
  o.secret_access_key = "wrong-secret";
  S3Client c(o);
  Status s = c.Put("seg-000001.cold", "data");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_TRUE(Contains(s.message(), "S3 PUT ferrite-archive/seg-000001.cold at " +
                                        server_->endpoint() +
                                        ": HTTP 403 SignatureDoesNotMatch: The request signature"))
      << s.ToString();
  Result<std::string> g = c.Get("seg-000001.cold");
  EXPECT_TRUE(Contains(g.status().message(), "HTTP 403 SignatureDoesNotMatch"))
      << g.status().ToString();

  o = Options(*server_);
  o.access_key_id = "NOBODY";
  S3Client unknown(o);
  s = unknown.Put("seg-000001.cold", "data");
  EXPECT_TRUE(Contains(s.message(), "HTTP 403 InvalidAccessKeyId")) << s.ToString();
}

TEST_F(S3ClientTest, MissingBucketIsAClearError) {
  S3Client c(Options(*server_, "no-such-bucket"));
  Status s = c.Put("k", "v");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_TRUE(Contains(
      s.message(), "S3 PUT no-such-bucket/k at " + server_->endpoint() + ": HTTP 404 NoSuchBucket"))
      << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "bucket does not exist")) << s.ToString();
  Result<std::string> g = c.Get("k");
  EXPECT_TRUE(Contains(g.status().message(), "NoSuchBucket")) << g.status().ToString();
  // A HEAD 404 has no body; the client probes the bucket so this is not "key missing".
  Result<uint64_t> h = c.Head("k");
  EXPECT_EQ(h.status().code(), Status::Code::kIOError) << h.status().ToString();
  EXPECT_TRUE(Contains(h.status().message(), "S3 HEAD no-such-bucket/k at " + server_->endpoint() +
                                                 ": HTTP 404 NoSuchBucket"))
      << h.status().ToString();
}

TEST_F(S3ClientTest, CreateBucketIsIdempotent) {
  S3Options o = Options(*server_, "fresh-bucket");
  o.region = "eu-west-1";  // signs for eu-west-1 and sends a LocationConstraint
  S3Client c(o);
  Status s = c.CreateBucket();
  ASSERT_TRUE(s.ok()) << s.ToString();
  s = c.CreateBucket();
  ASSERT_TRUE(s.ok()) << s.ToString();
  ASSERT_TRUE(c.Put("k", "in fresh bucket").ok());
  EXPECT_EQ(c.Get("k").value(), "in fresh bucket");
  // The bucket the server configured at startup exists already.
  EXPECT_TRUE(S3Client(Options(*server_)).CreateBucket().ok());
}

TEST_F(S3ClientTest, VirtualHostStyle) {
  S3Options o = Options(*server_);
  // curl resolves *.localhost to loopback itself; start.js treats BUCKET.s3.localhost as
  // virtual-host addressing.
  o.endpoint = "http://s3.localhost:" + std::to_string(server_->port());
  o.path_style = false;
  S3Client c(o);
  Status s = c.Put("vhost/obj", "via vhost");
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(c.Get("vhost/obj").value(), "via vhost");
  // The same object through path-style addressing.
  EXPECT_EQ(S3Client(Options(*server_)).Get("vhost/obj").value(), "via vhost");
}

TEST_F(S3ClientTest, RetriesServerErrors) {
  S3Client c(Options(*server_));
  ASSERT_TRUE(c.Put("retry/obj", "still here").ok());
  ASSERT_TRUE(server_->FailNext(2, 503));
  Result<std::string> got = c.Get("retry/obj");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "still here");

  ASSERT_TRUE(server_->FailNext(4, 500));
  Status s = c.Put("retry/obj", "x");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIOError);
  EXPECT_TRUE(Contains(s.message(), "HTTP 500 InternalError")) << s.ToString();
  EXPECT_TRUE(Contains(s.message(), "gave up after 4 attempts")) << s.ToString();

  S3Options o = Options(*server_);
  o.retries = 0;
  ASSERT_TRUE(server_->FailNext(1, 503));
  Result<std::string> once = S3Client(o).Get("retry/obj");
  EXPECT_TRUE(Contains(once.status().message(), "HTTP 503 SlowDown")) << once.status().ToString();
  EXPECT_EQ(c.Get("retry/obj").value(), "still here");  // the failed Put changed nothing
}

TEST_F(S3ClientTest, ConcurrentCallsFromManyThreads) {
  S3Client c(Options(*server_));
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        std::string key = "mt/" + std::to_string(t) + "/" + std::to_string(i);
        std::string value = RandomBytes(1000 + i, t * 100 + i);
        if (!c.Put(key, value).ok()) ++failures;
        Result<std::string> got = c.Get(key);
        if (!got.ok() || *got != value) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

// A server of its own: stopped, then started again on the same port with the same data.
TEST(S3ClientServerDownTest, ConnectionErrorAfterRetriesThenRecovers) {
  S3rver server;
  ASSERT_EQ(server.Start(), "");
  S3Client c(Options(server));
  ASSERT_TRUE(c.Put("down/obj", "durable").ok());
  server.Stop();

  auto t0 = Clock::now();
  Result<std::string> got = c.Get("down/obj");
  auto elapsed = Clock::now() - t0;
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Status::Code::kIOError);
  const std::string& m = got.status().message();
  EXPECT_TRUE(Contains(m, "S3 GET ferrite-archive/down/obj at " + server.endpoint() + ": ")) << m;
  EXPECT_TRUE(Contains(m, "Connection refused")) << m;
  EXPECT_TRUE(Contains(m, "gave up after 4 attempts")) << m;
  // Backoff 50 + 200 + 800 ms; a refused connection fails at once.
  EXPECT_GE(elapsed, std::chrono::milliseconds(1000));
  EXPECT_LT(elapsed, std::chrono::seconds(5));

  Status s = c.Put("down/other", "x");
  EXPECT_TRUE(Contains(s.message(), "Connection refused")) << s.ToString();

  ASSERT_EQ(server.Start(), "");
  got = c.Get("down/obj");
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "durable");
}

TEST(S3ClientOptionsTest, DefaultEndpointFromRegion) {
  S3Options o;
  o.region = "eu-west-1";
  o.bucket = "b";
  S3Client c(o);
  EXPECT_EQ(c.endpoint(), "https://s3.eu-west-1.amazonaws.com");
  S3Options t;
  t.endpoint = "http://127.0.0.1:4568/";
  EXPECT_EQ(S3Client(t).endpoint(), "http://127.0.0.1:4568");
}

TEST(S3ClientOptionsTest, EmptyKeyIsRejectedWithoutARequest) {
  S3Options o;
  o.endpoint = "http://127.0.0.1:1";
  o.bucket = "b";
  S3Client c(o);
  EXPECT_EQ(c.Put("", "x").code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(c.Get("").status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(c.Head("").status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace ferrite
