#include "tier/s3_client.h"

#include <curl/curl.h>
#include <xxhash.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

namespace ferrite {

namespace {

// SHA-256 of the empty string: the signed payload hash of requests without a body.
constexpr char kEmptySha256[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

void GlobalInitOnce() {
  // curl_global_init is not thread-safe in every libcurl build; call it exactly once.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Percent-encodes everything but RFC 3986 unreserved characters (and '/' when keep_slash):
// the encoding S3 expects in paths and that SigV4 signs (libcurl signs the path as given).
std::string UriEncode(std::string_view s, bool keep_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

std::string XmlUnescape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '&') {
      static constexpr std::pair<std::string_view, char> kEntities[] = {
          {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
      bool done = false;
      for (const auto& [name, ch] : kEntities) {
        if (s.substr(i, name.size()) == name) {
          out.push_back(ch);
          i += name.size() - 1;
          done = true;
          break;
        }
      }
      if (done) continue;
    }
    out.push_back(s[i]);
  }
  return out;
}

// The text of the first <tag>...</tag> in an S3 XML error body ("" if absent).
std::string XmlField(std::string_view xml, std::string_view tag) {
  std::string open = "<" + std::string(tag) + ">";
  std::string close = "</" + std::string(tag) + ">";
  size_t b = xml.find(open);
  if (b == std::string_view::npos) return "";
  b += open.size();
  size_t e = xml.find(close, b);
  if (e == std::string_view::npos) return "";
  return XmlUnescape(xml.substr(b, e - b));
}

bool TransientCurlError(CURLcode c) {
  switch (c) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
      return true;
    default:
      return false;
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' || s.back() == '\n')) {
    s.remove_suffix(1);
  }
  return s;
}

bool IEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

struct UploadCursor {
  std::string_view data;
  size_t pos = 0;
};

size_t ReadCallback(char* buf, size_t size, size_t n, void* userp) {
  auto* c = static_cast<UploadCursor*>(userp);
  size_t len = std::min(size * n, c->data.size() - c->pos);
  std::memcpy(buf, c->data.data() + c->pos, len);
  c->pos += len;
  return len;
}

int SeekCallback(void* userp, curl_off_t offset, int origin) {
  auto* c = static_cast<UploadCursor*>(userp);
  if (origin != SEEK_SET || offset < 0 || static_cast<uint64_t>(offset) > c->data.size()) {
    return CURL_SEEKFUNC_CANTSEEK;
  }
  c->pos = static_cast<size_t>(offset);
  return CURL_SEEKFUNC_OK;
}

size_t WriteCallback(char* ptr, size_t size, size_t n, void* userp) {
  static_cast<std::string*>(userp)->append(ptr, size * n);
  return size * n;
}

}  // namespace

struct S3Client::Request {
  const char* method = "GET";  // GET, PUT, HEAD, DELETE
  std::string key;             // empty: the bucket itself
  std::string_view body;       // sent when upload is true
  bool upload = false;
  std::string range;  // "bytes=a-b" or empty
};

struct S3Client::Response {
  long http = 0;
  std::string body;
  std::string error_code;     // S3 <Code> (or x-amz-error-code header on bodiless answers)
  std::string error_message;  // S3 <Message>
  int64_t content_length = -1;
  int attempts = 0;

  bool ok() const { return http >= 200 && http < 300; }
  bool retryable() const {
    return http >= 500 || http == 429 || (http == 400 && error_code == "RequestTimeout");
  }
};

namespace {

struct HeaderSink {
  std::string error_code, error_message;
};

size_t HeaderCallback(char* buf, size_t size, size_t n, void* userp) {
  auto* h = static_cast<HeaderSink*>(userp);
  std::string_view line(buf, size * n);
  size_t colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string_view name = line.substr(0, colon);
    std::string_view value = Trim(line.substr(colon + 1));
    // Not sent by AWS; s3rver (and some other stores) name the error here, which is the
    // only place it can go on a HEAD.
    if (IEquals(name, "x-amz-error-code")) h->error_code = value;
    if (IEquals(name, "x-amz-error-message")) h->error_message = value;
  }
  return size * n;
}

std::string AttemptsSuffix(int attempts) {
  return attempts > 1 ? " (gave up after " + std::to_string(attempts) + " attempts)" : "";
}

}  // namespace

S3Client::S3Client(S3Options o) : options_(std::move(o)) {
  GlobalInitOnce();
  endpoint_ = options_.endpoint.empty() ? "https://s3." + options_.region + ".amazonaws.com"
                                        : options_.endpoint;
  while (!endpoint_.empty() && endpoint_.back() == '/') endpoint_.pop_back();
}

std::string S3Client::Describe(std::string_view op, const std::string& key) const {
  std::string s = "S3 " + std::string(op) + " " + options_.bucket;
  if (!key.empty()) s += "/" + key;
  return s + " at " + endpoint_;
}

std::string S3Client::Url(const std::string& key) const {
  std::string path = key.empty() ? "" : "/" + UriEncode(key, /*keep_slash=*/true);
  if (options_.path_style) return endpoint_ + "/" + UriEncode(options_.bucket, false) + path;
  // Virtual-host style: the bucket becomes the first label of the host.
  size_t scheme_end = endpoint_.find("://");
  size_t host_begin = scheme_end == std::string::npos ? 0 : scheme_end + 3;
  return endpoint_.substr(0, host_begin) + options_.bucket + "." + endpoint_.substr(host_begin) +
         (path.empty() ? "/" : path);
}

Status S3Client::Perform(const Request& req, Response* resp) const {
  const std::string url = Url(req.key);
  const std::string desc = Describe(req.method, req.key);
  const std::string sigv4 = "aws:amz:" + options_.region + ":s3";
  const bool sign = !options_.access_key_id.empty() || !options_.secret_access_key.empty();
  const int attempts_max = std::max(0, options_.retries) + 1;
  std::string last_error;

  for (int attempt = 0; attempt < attempts_max; ++attempt) {
    if (attempt > 0) {
      // 50 ms, 200 ms, 800 ms, ... capped at 5 s.
      int64_t ms = std::min<int64_t>(5000, int64_t{50} << (2 * std::min(attempt - 1, 10)));
      std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    *resp = Response();
    resp->attempts = attempt + 1;

    CURL* h = curl_easy_init();
    if (h == nullptr) return Status::IOError(desc + ": curl_easy_init failed");
    char errbuf[CURL_ERROR_SIZE] = {0};
    HeaderSink hdrs;
    UploadCursor cursor{req.body, 0};
    curl_slist* headers = nullptr;
    // S3 requires x-amz-content-sha256 on every V4-signed request, and libcurl 7.88 signs
    // whatever value we put there as the payload hash.
    headers = curl_slist_append(
        headers, req.upload && !req.body.empty()
                     ? "x-amz-content-sha256: UNSIGNED-PAYLOAD"
                     : (std::string("x-amz-content-sha256: ") + kEmptySha256).c_str());
    if (!req.range.empty()) headers = curl_slist_append(headers, ("Range: " + req.range).c_str());
    if (req.upload) headers = curl_slist_append(headers, "Content-Type: application/octet-stream");

    curl_easy_setopt(h, CURLOPT_URL, url.c_str());
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);    // no SIGALRM: we run on many threads
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);  // keys may hold "/./" or "//": send as is
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.request_timeout_ms));
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, WriteCallback);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &resp->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, HeaderCallback);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &hdrs);
    if (sign) {
      curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4.c_str());
      curl_easy_setopt(h, CURLOPT_USERNAME, options_.access_key_id.c_str());
      curl_easy_setopt(h, CURLOPT_PASSWORD, options_.secret_access_key.c_str());
    }
    if (req.upload) {
      curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);  // PUT
      curl_easy_setopt(h, CURLOPT_READFUNCTION, ReadCallback);
      curl_easy_setopt(h, CURLOPT_READDATA, &cursor);
      curl_easy_setopt(h, CURLOPT_SEEKFUNCTION, SeekCallback);
      curl_easy_setopt(h, CURLOPT_SEEKDATA, &cursor);
      curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
    } else if (std::strcmp(req.method, "HEAD") == 0) {
      curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (std::strcmp(req.method, "GET") != 0) {
      curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, req.method);
    }

    CURLcode rc = curl_easy_perform(h);
    long os_errno = 0;
    if (rc == CURLE_OK) {
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &resp->http);
      curl_off_t cl = -1;
      curl_easy_getinfo(h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
      resp->content_length = cl;
    } else {
      curl_easy_getinfo(h, CURLINFO_OS_ERRNO, &os_errno);
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);

    if (rc != CURLE_OK) {
      last_error = errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc);
      if (os_errno != 0) last_error += std::string(" (") + std::strerror(int(os_errno)) + ")";
      if (TransientCurlError(rc)) continue;
      return Status::IOError(desc + ": " + last_error + AttemptsSuffix(attempt + 1));
    }
    if (!resp->ok()) {
      resp->error_code = XmlField(resp->body, "Code");
      resp->error_message = XmlField(resp->body, "Message");
      if (resp->error_code.empty()) resp->error_code = hdrs.error_code;
      if (resp->error_message.empty()) resp->error_message = hdrs.error_message;
    }
    if (resp->retryable() && attempt + 1 < attempts_max) continue;
    return Status::Ok();  // an HTTP answer: the caller interprets resp->http
  }
  return Status::IOError(desc + ": " + last_error + AttemptsSuffix(attempts_max));
}

namespace {

// The Status for a non-2xx answer (see the table in s3_client.h).
Status HttpError(const std::string& desc, long http, const std::string& code,
                 const std::string& message, int attempts) {
  std::string text = desc + ": HTTP " + std::to_string(http);
  if (!code.empty()) text += " " + code;
  if (!message.empty()) text += ": " + message;
  if (code == "NoSuchBucket") text += " (the bucket does not exist; create it or fix the name)";
  text += AttemptsSuffix(attempts);
  if (http == 404 && code != "NoSuchBucket") return Status::NotFound(std::move(text));
  if (http == 400 || http == 411 || http == 413 || http == 414 || http == 416) {
    return Status::InvalidArgument(std::move(text));
  }
  return Status::IOError(std::move(text));
}

}  // namespace

Status S3Client::Put(const std::string& key, std::string_view data) const {
  if (key.empty()) return Status::InvalidArgument(Describe("PUT", key) + ": empty key");
  Request req;
  req.method = "PUT";
  req.key = key;
  req.body = data;
  req.upload = true;
  Response resp;
  if (Status s = Perform(req, &resp); !s.ok()) return s;
  if (!resp.ok()) {
    return HttpError(Describe("PUT", key), resp.http, resp.error_code, resp.error_message,
                     resp.attempts);
  }
  return Status::Ok();
}

Result<std::string> S3Client::Get(const std::string& key) const {
  if (key.empty()) return Status::InvalidArgument(Describe("GET", key) + ": empty key");
  Request req;
  req.key = key;
  Response resp;
  if (Status s = Perform(req, &resp); !s.ok()) return s;
  if (!resp.ok()) {
    return HttpError(Describe("GET", key), resp.http, resp.error_code, resp.error_message,
                     resp.attempts);
  }
  return std::move(resp.body);
}

Result<std::string> S3Client::GetRange(const std::string& key, uint64_t offset,
                                       uint64_t length) const {
  const std::string desc = Describe("GET", key) + " range [" + std::to_string(offset) + ", +" +
                           std::to_string(length) + ")";
  if (key.empty()) return Status::InvalidArgument(desc + ": empty key");
  if (length == 0) return std::string();
  if (length - 1 > UINT64_MAX - offset) return Status::InvalidArgument(desc + ": range overflows");
  Request req;
  req.key = key;
  req.range = "bytes=" + std::to_string(offset) + "-" + std::to_string(offset + length - 1);
  Response resp;
  if (Status s = Perform(req, &resp); !s.ok()) return s;
  if (!resp.ok())
    return HttpError(desc, resp.http, resp.error_code, resp.error_message, resp.attempts);
  std::string body = std::move(resp.body);
  if (resp.http == 200) {
    // The store ignored Range and sent the whole object: cut the range out of it.
    body = offset < body.size() ? body.substr(offset, length) : std::string();
  }
  if (body.size() != length) {
    return Status::Corruption(desc + ": HTTP " + std::to_string(resp.http) + " returned " +
                              std::to_string(body.size()) + " bytes, expected " +
                              std::to_string(length) + " (the object is shorter than the range)");
  }
  return body;
}

Result<uint64_t> S3Client::Head(const std::string& key) const {
  if (key.empty()) return Status::InvalidArgument(Describe("HEAD", key) + ": empty key");
  Request req;
  req.method = "HEAD";
  req.key = key;
  Response resp;
  if (Status s = Perform(req, &resp); !s.ok()) return s;
  if (resp.http == 404 && resp.error_code.empty()) {
    // A HEAD answer has no body, so a missing key and a missing bucket look alike. Tell
    // them apart with a HEAD of the bucket (only on this miss path), so a misconfigured
    // bucket is not mistaken for "object absent". If that probe cannot tell (e.g. 403: the
    // credentials lack s3:ListBucket), the answer stays NotFound.
    Request probe;
    probe.method = "HEAD";
    Response presp;
    if (Status s = Perform(probe, &presp); s.ok() && presp.http == 404) {
      resp.error_code = "NoSuchBucket";
      resp.error_message = "The specified bucket does not exist";
    }
  }
  if (!resp.ok()) {
    return HttpError(Describe("HEAD", key), resp.http, resp.error_code, resp.error_message,
                     resp.attempts);
  }
  if (resp.content_length < 0) {
    return Status::IOError(Describe("HEAD", key) + ": HTTP " + std::to_string(resp.http) +
                           " without a Content-Length");
  }
  return static_cast<uint64_t>(resp.content_length);
}

Status S3Client::Delete(const std::string& key) const {
  if (key.empty()) return Status::InvalidArgument(Describe("DELETE", key) + ": empty key");
  Request req;
  req.method = "DELETE";
  req.key = key;
  Response resp;
  if (Status s = Perform(req, &resp); !s.ok()) return s;
  if (!resp.ok()) {
    return HttpError(Describe("DELETE", key), resp.http, resp.error_code, resp.error_message,
                     resp.attempts);
  }
  return Status::Ok();
}

Status S3Client::CreateBucket() const {
  const std::string desc = Describe("PUT", "");
  if (options_.bucket.empty()) return Status::InvalidArgument(desc + ": no bucket name");
  // us-east-1 is S3's default location and must not be named; elsewhere it must be.
  std::string config;
  if (options_.region != "us-east-1") {
    config = "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">";
    config += "<LocationConstraint>" + options_.region + "</LocationConstraint>";
    config += "</CreateBucketConfiguration>";
  }
  Request req;
  req.method = "PUT";
  req.body = config;
  req.upload = true;
  Response resp;
  if (Status s = Perform(req, &resp); !s.ok()) return s;
  if (resp.ok() || (resp.http == 409 && resp.error_code == "BucketAlreadyOwnedByYou")) {
    return Status::Ok();
  }
  if (resp.http == 409 && resp.error_code == "BucketAlreadyExists") {
    // AWS: someone else owns the name. s3rver: it is ours. A HEAD of the bucket tells.
    Request head;
    head.method = "HEAD";
    Response hresp;
    if (Status s = Perform(head, &hresp); s.ok() && hresp.ok()) return Status::Ok();
  }
  return HttpError(desc, resp.http, resp.error_code, resp.error_message, resp.attempts);
}

Status S3Client::PutVerified(const std::string& key, std::string_view data) const {
  if (Status s = Put(key, data); !s.ok()) return s;
  const std::string desc = Describe("PUT", key) + ": verifying the upload";
  Result<uint64_t> size = Head(key);
  if (!size.ok()) return Status::IOError("verifying the upload: " + size.status().message());
  if (*size != data.size()) {
    return Status::Corruption(desc + ": stored object is " + std::to_string(*size) +
                              " bytes, uploaded " + std::to_string(data.size()));
  }
  Result<std::string> back = Get(key);
  if (!back.ok()) return Status::IOError("verifying the upload: " + back.status().message());
  const uint64_t want = XXH64(data.data(), data.size(), 0);
  const uint64_t got = XXH64(back->data(), back->size(), 0);
  if (back->size() != data.size() || got != want) {
    return Status::Corruption(desc + ": read-back mismatch (" + std::to_string(back->size()) +
                              " bytes, xxh64 " + std::to_string(got) + "; uploaded " +
                              std::to_string(data.size()) + " bytes, xxh64 " +
                              std::to_string(want) + ")");
  }
  return Status::Ok();
}

}  // namespace ferrite
