#pragma once
// S3Client: the archive tier's access to S3 (or any S3-compatible store: MinIO, Ceph RGW,
// s3rver in tests). Plain blocking HTTP(S) through libcurl; requests are signed with AWS
// Signature V4 by libcurl itself (CURLOPT_AWS_SIGV4), never by hand.
//
// Threads: every call is independent and thread-safe; each uses its own CURL easy handle
// (so there is no connection reuse between calls: one TCP/TLS handshake per request).
// Calls block the calling thread for up to
//   (retries + 1) * request_timeout_ms + backoff (50, 200, 800 ms, ...),
// so keep them off the event loop.
//
// Retries: connection failures (refused, reset, timed out, DNS), HTTP 5xx, 429 and S3's
// 400 RequestTimeout are retried `retries` times with backoff 50 ms * 4^n. Anything else
// (4xx) fails at once.
//
// Errors name the operation, bucket/key, endpoint and the cause, e.g.
//   S3 PUT ferrite-archive/seg-000001.cold at http://127.0.0.1:4568: HTTP 403
//   SignatureDoesNotMatch: The request signature we calculated does not match ...
//   S3 GET ferrite-archive/k at http://127.0.0.1:4568: Failed to connect to 127.0.0.1 port
//   4568 after 0 ms: Couldn't connect to server (Connection refused) (gave up after 4 attempts)
// Status codes used:
//   NotFound         the object does not exist: HTTP 404 NoSuchKey; for HEAD (no body, so
//                    no S3 code) a 404 whose bucket does exist, checked with a HEAD of the
//                    bucket on that miss path. Note: S3 answers a missing key with 403
//                    AccessDenied, not 404, when the credentials lack s3:ListBucket; grant
//                    it, or misses read as IOError.
//   InvalidArgument  requests the store rejects as malformed: HTTP 400 (e.g.
//                    InvalidBucketName, AuthorizationHeaderMalformed for a wrong region),
//                    411, 413, 414, 416 (range starts past the end); an empty key.
//   Corruption       the store answered 2xx with bytes that are not what was asked for:
//                    GetRange shorter than `length`, PutVerified read-back mismatch.
//   IOError          everything else: network failures, 5xx after retries, 403 (wrong
//                    credentials, clock skew), 404 NoSuchBucket, 301 (wrong region).
//
// Payload signing: request bodies are sent with x-amz-content-sha256: UNSIGNED-PAYLOAD
// (S3 accepts it over HTTPS and HTTP; the headers, path and query are still signed). Bodies
// are checked end to end by PutVerified instead. Requests without a body sign the SHA-256
// of the empty string.
//
// libcurl behaviour kept on purpose: uploads send "Expect: 100-continue" (S3 answers before
// the body is sent, so a rejected PUT costs no upload); the usual proxy environment
// variables (https_proxy, no_proxy, ...) apply; redirects are not followed (a 301 means a
// wrong region or endpoint and is reported).

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace ferrite {

struct S3Options {
  // "http://127.0.0.1:4568" or "https://s3.eu-west-1.amazonaws.com"; a trailing '/' is
  // ignored. Empty = https://s3.<region>.amazonaws.com.
  std::string endpoint;
  std::string region = "us-east-1";
  std::string bucket;
  // Both empty: requests are sent unsigned (anonymous access to a public bucket).
  std::string access_key_id, secret_access_key;
  bool path_style = true;  // http://host/bucket/key  vs  http://bucket.host/key
  int connect_timeout_ms = 2000;
  int request_timeout_ms = 30000;  // whole request, per attempt
  int retries = 3;  // extra attempts on connection errors / 5xx, backoff 50ms, 200ms, 800ms...
};

class S3Client {
 public:
  explicit S3Client(S3Options o);

  // PUT object: creates or replaces `key` with `data`.
  Status Put(const std::string& key, std::string_view data) const;
  // GET the whole object.
  Result<std::string> Get(const std::string& key) const;
  // GET bytes [offset, offset + length) with an HTTP Range. Exactly `length` bytes or an
  // error: a range running past the end of the object is Corruption (the object is shorter
  // than the caller believes), one starting past the end is InvalidArgument (HTTP 416).
  // length 0 returns "" without a request.
  Result<std::string> GetRange(const std::string& key, uint64_t offset, uint64_t length) const;
  // HEAD: the object's size in bytes. NotFound when the key is missing (HTTP 404 and the
  // bucket exists, see above); a missing bucket is IOError naming NoSuchBucket.
  Result<uint64_t> Head(const std::string& key) const;
  // DELETE object. Ok when the object did not exist (S3 answers 204 either way).
  Status Delete(const std::string& key) const;
  // PUT bucket (with a LocationConstraint outside us-east-1). Ok if it already exists and
  // is ours (409 BucketAlreadyOwnedByYou, or 409 BucketAlreadyExists followed by a HEAD of
  // the bucket that succeeds: s3rver answers the latter for its own buckets).
  Status CreateBucket() const;
  // Put, then verify what the store holds: HEAD size == data.size() and a GET whose bytes
  // have the same XXH64 as `data`. Only a verified upload returns ok; a mismatch is
  // Corruption (the object is left in place; the caller decides whether to retry).
  Status PutVerified(const std::string& key, std::string_view data) const;

  const S3Options& options() const { return options_; }
  // The endpoint actually used (the default filled in, no trailing '/').
  const std::string& endpoint() const { return endpoint_; }

 private:
  struct Request;
  struct Response;
  // One HTTP exchange with retries; fills `resp` or returns a transport-level error.
  Status Perform(const Request& req, Response* resp) const;
  std::string Url(const std::string& key) const;
  std::string Describe(std::string_view op, const std::string& key) const;

  S3Options options_;
  std::string endpoint_;  // scheme://host[:port], no trailing '/'
};

}  // namespace ferrite
