#include "report_queue.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <utility>

#include "durable_file.h"
#include "residue/core/error.h"

// On disk, each record is
//   length      u32 little-endian: the bytes that follow the header (nonce, ciphertext, tag)
//   check       u32 little-endian: ~length, so that a corrupted length is an error rather than
//               a record that seems to run past the end of the file (a torn append)
//   nonce       12 bytes from RAND_bytes
//   ciphertext  AES-256-GCM of type byte ('R', 'B' or 'A') || payload
//   tag         16 bytes
// with the record's sequence number (its index in the file, u64 little-endian) as associated
// data; the type byte is authenticated as part of the plaintext. Payloads: REPORT the report
// bytes, BATCH the 16-byte id and u32 little-endian count, ACK the 16-byte id.
//
// Compaction rewrites the surviving records (the waiting reports, often none) to <path>.tmp,
// then renames it over the log. It runs whenever an ACK empties the outbox, not only when
// nothing waits, so reports pushed while batches are in flight cannot make the log grow
// without bound.

namespace residue {
namespace {

constexpr std::size_t kLengthBytes = 4;
constexpr std::size_t kHeaderBytes = 2 * kLengthBytes;
constexpr std::size_t kNonceBytes = 12;
constexpr std::size_t kTagBytes = 16;
constexpr std::size_t kMaxReportBytes = std::size_t{1} << 24;
constexpr std::size_t kMinRecordLength = kNonceBytes + 1 + kTagBytes;
// Longer than the largest REPORT could be: corruption, whether or not the file ends early.
constexpr std::size_t kMaxRecordLength = kMaxReportBytes + 64;
constexpr std::size_t kBatchPayloadBytes = sizeof(BatchId) + 4;

constexpr uint8_t kReport = 'R';
constexpr uint8_t kBatch = 'B';
constexpr uint8_t kAck = 'A';

using Path = std::filesystem::path;

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    reset(std::exchange(other.fd_, -1));
    return *this;
  }
  ~Fd() { reset(); }

  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

[[noreturn]] void throw_io(const Path& path, const std::string& what, int err) {
  throw Error("queue " + path.string() + ": " + what + ": " + std::generic_category().message(err));
}

[[noreturn]] void throw_record(const Path& path, std::size_t offset, uint64_t sequence,
                               const std::string& what) {
  throw Error("queue " + path.string() + ": record at byte " + std::to_string(offset) +
              " (sequence " + std::to_string(sequence) + "): " + what);
}

void put_le(uint64_t value, std::size_t bytes, uint8_t* out) {
  for (std::size_t i = 0; i < bytes; ++i) out[i] = static_cast<uint8_t>(value >> (8 * i));
}

uint64_t get_le(const uint8_t* in, std::size_t bytes) {
  uint64_t value = 0;
  for (std::size_t i = 0; i < bytes; ++i) value |= static_cast<uint64_t>(in[i]) << (8 * i);
  return value;
}

std::array<uint8_t, 8> associated_data(uint64_t sequence) {
  std::array<uint8_t, 8> ad;
  put_le(sequence, ad.size(), ad.data());
  return ad;
}

// Appends the framed record `sequence` to `out`.
void seal(const Path& path, const QueueKey& key, uint64_t sequence, uint8_t type,
          std::span<const uint8_t> payload, std::vector<uint8_t>& out) {
  const std::size_t length = kNonceBytes + 1 + payload.size() + kTagBytes;
  const std::size_t start = out.size();
  out.resize(start + kHeaderBytes + length);
  put_le(length, kLengthBytes, &out[start]);
  put_le(~length, kLengthBytes, &out[start + kLengthBytes]);
  uint8_t* nonce = &out[start + kHeaderBytes];
  uint8_t* ciphertext = nonce + kNonceBytes;
  uint8_t* tag = ciphertext + 1 + payload.size();
  const std::array<uint8_t, 8> ad = associated_data(sequence);
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int n = 0;
  const bool ok =
      RAND_bytes(nonce, kNonceBytes) == 1 && ctx != nullptr &&
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce) == 1 &&
      EVP_EncryptUpdate(ctx.get(), nullptr, &n, ad.data(), ad.size()) == 1 &&
      EVP_EncryptUpdate(ctx.get(), ciphertext, &n, &type, 1) == 1 &&
      EVP_EncryptUpdate(ctx.get(), ciphertext + 1, &n, payload.data(),
                        static_cast<int>(payload.size())) == 1 &&
      EVP_EncryptFinal_ex(ctx.get(), tag, &n) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_GET_TAG, kTagBytes, tag) == 1;
  if (!ok) {
    throw Error("queue " + path.string() + ": OpenSSL could not seal a record (error " +
                std::to_string(ERR_get_error()) + ")");
  }
}

// The plaintext of `sealed` (nonce || ciphertext || tag) at `sequence`, or nothing when it
// fails authentication.
std::optional<std::vector<uint8_t>> unseal(const Path& path, const QueueKey& key, uint64_t sequence,
                                           std::span<const uint8_t> sealed) {
  const std::span<const uint8_t> nonce = sealed.first(kNonceBytes);
  const std::span<const uint8_t> ciphertext =
      sealed.subspan(kNonceBytes, sealed.size() - kNonceBytes - kTagBytes);
  std::array<uint8_t, kTagBytes> tag;
  std::copy_n(sealed.end() - kTagBytes, kTagBytes, tag.begin());
  const std::array<uint8_t, 8> ad = associated_data(sequence);
  std::vector<uint8_t> plain(ciphertext.size());
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  int n = 0;
  const bool ok =
      ctx != nullptr &&
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &n, ad.data(), ad.size()) == 1 &&
      EVP_DecryptUpdate(ctx.get(), plain.data(), &n, ciphertext.data(),
                        static_cast<int>(ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_AEAD_SET_TAG, kTagBytes, tag.data()) == 1;
  if (!ok) {
    throw Error("queue " + path.string() + ": OpenSSL could not open a record (error " +
                std::to_string(ERR_get_error()) + ")");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), plain.data() + n, &n) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return plain;
}

// Writes all of `bytes` at `offset`. On failure returns false with errno set.
bool write_fully(int fd, off_t offset, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd, bytes.data(), bytes.size(), offset);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    bytes = bytes.subspan(static_cast<std::size_t>(n));
    offset += n;
  }
  return true;
}

// Takes an exclusive lock, so that two queues never append to the same file, and makes sure
// the mode is 0600 even for a file created by someone else.
void lock_and_protect(int fd, const Path& path) {
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    throw_io(path, "cannot lock it (is another ReportQueue using it?)", errno);
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_io(path, "fstat failed", errno);
  if ((st.st_mode & 07777) != 0600 && ::fchmod(fd, 0600) != 0) {
    throw_io(path, "cannot set mode 0600", errno);
  }
}

std::vector<uint8_t> read_all(int fd, const Path& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_io(path, "fstat failed", errno);
  std::vector<uint8_t> bytes(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n =
        ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw_io(path, "read failed at byte " + std::to_string(done), errno);
    if (n == 0) break;  // shrunk meanwhile: parse what is there
    done += static_cast<std::size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

// Appends `bytes` (whole records) and fsyncs. A failed append is cut back off the file so it
// leaves nothing behind; if even that fails, `fd` is closed (-1) and the queue refuses further
// appends: a stray record would shift every later sequence number.
void append(int& fd, const Path& path, std::span<const uint8_t> bytes) {
  if (fd < 0) throw Error("queue " + path.string() + ": closed by an earlier I/O failure");
  struct stat st;
  if (::fstat(fd, &st) != 0) throw_io(path, "fstat failed", errno);
  const off_t end = st.st_size;
  const bool written = write_fully(fd, end, bytes);
  if (written && ::fsync(fd) == 0) return;
  const int err = errno;
  if (::ftruncate(fd, end) != 0 || ::fsync(fd) != 0) {
    ::close(fd);
    fd = -1;
  }
  throw_io(path,
           std::string(written ? "fsync" : "write") + " of " + std::to_string(bytes.size()) +
               " bytes at byte " + std::to_string(end) + " failed",
           err);
}

// Writes `waiting` as records 0..n-1 of a fresh log at <path>.tmp (fsync'ed, locked) and
// renames it over `path`. The caller must adopt the returned fd, then sync the directory.
// (Not write_durable_file: the queue keeps the new file open, and locked before it is named.)
Fd rewrite_log(const Path& path, const QueueKey& key,
               const std::vector<std::vector<uint8_t>>& waiting) {
  Path tmp = path;
  tmp += ".tmp";
  try {
    Fd fd(::open(tmp.c_str(), O_RDWR | O_CLOEXEC | O_CREAT | O_TRUNC, 0600));
    if (fd.get() < 0) throw_io(tmp, "cannot create", errno);
    lock_and_protect(fd.get(), tmp);
    std::vector<uint8_t> bytes;
    for (std::size_t i = 0; i < waiting.size(); ++i) seal(path, key, i, kReport, waiting[i], bytes);
    if (!write_fully(fd.get(), 0, bytes) || ::fsync(fd.get()) != 0) {
      throw_io(tmp, "writing the compacted log failed", errno);
    }
    if (::rename(tmp.c_str(), path.c_str()) != 0) throw_io(tmp, "rename failed", errno);
    return fd;
  } catch (...) {
    ::unlink(tmp.c_str());
    throw;
  }
}

// Applies one authenticated record to the replayed state.
void apply(const Path& path, std::size_t offset, uint64_t sequence,
           const std::vector<uint8_t>& plain, std::vector<std::vector<uint8_t>>& waiting,
           std::vector<QueuedBatch>& outbox) {
  const uint8_t type = plain[0];
  const std::span<const uint8_t> payload = std::span(plain).subspan(1);
  auto bad_size = [&](const char* name) {
    throw_record(path, offset, sequence,
                 std::string(name) + " payload of " + std::to_string(payload.size()) + " bytes");
  };
  if (type == kReport) {
    if (payload.empty()) bad_size("REPORT");
    waiting.emplace_back(payload.begin(), payload.end());
  } else if (type == kBatch) {
    if (payload.size() != kBatchPayloadBytes) bad_size("BATCH");
    const uint64_t count = get_le(payload.data() + sizeof(BatchId), 4);
    if (count == 0 || count > waiting.size()) {
      throw_record(path, offset, sequence,
                   "BATCH of " + std::to_string(count) + " reports, but " +
                       std::to_string(waiting.size()) + " wait");
    }
    QueuedBatch& batch = outbox.emplace_back();
    std::copy_n(payload.begin(), batch.id.size(), batch.id.begin());
    const auto taken = waiting.begin() + static_cast<std::ptrdiff_t>(count);
    batch.reports.assign(std::make_move_iterator(waiting.begin()), std::make_move_iterator(taken));
    waiting.erase(waiting.begin(), taken);
  } else if (type == kAck) {
    if (payload.size() != sizeof(BatchId)) bad_size("ACK");
    auto it = std::find_if(outbox.begin(), outbox.end(), [&](const QueuedBatch& b) {
      return std::equal(b.id.begin(), b.id.end(), payload.begin());
    });
    // acknowledge() writes ACKs only for batches in the outbox.
    if (it == outbox.end())
      throw_record(path, offset, sequence, "ACK of a batch not in the outbox");
    outbox.erase(it);
  } else {
    throw_record(path, offset, sequence, "unknown record type " + std::to_string(type));
  }
}

// Makes room for `extra` more elements before the log is written, so the push after the write
// cannot throw. Grows geometrically: reserving exactly size + 1 reallocated on every push and
// made recording n reports cost O(n^2) copies.
template <typename T>
void reserve_for(std::vector<T>& v, std::size_t extra) {
  if (v.capacity() - v.size() < extra) v.reserve(std::max(v.size() + extra, 2 * v.capacity()));
}

}  // namespace

ReportQueue::ReportQueue(std::filesystem::path path, const QueueKey& key)
    : path_(std::move(path)), key_(key) {
  try {
    Fd fd(::open(path_.c_str(), O_RDWR | O_CLOEXEC | O_CREAT | O_EXCL, 0600));
    const bool created = fd.get() >= 0;
    if (!created && errno == EEXIST) fd.reset(::open(path_.c_str(), O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) throw_io(path_, "cannot open", errno);
    lock_and_protect(fd.get(), path_);
    std::vector<uint8_t> log = read_all(fd.get(), path_);
    std::size_t pos = 0;
    while (log.size() - pos >= kHeaderBytes) {
      // A crash can leave a filesystem's unwritten blocks as zeros after the last record.
      if (std::all_of(log.begin() + static_cast<std::ptrdiff_t>(pos), log.end(),
                      [](uint8_t b) { return b == 0; })) {
        break;
      }
      const uint64_t length = get_le(&log[pos], kLengthBytes);
      const uint64_t check = get_le(&log[pos + kLengthBytes], kLengthBytes);
      if ((length ^ check) != 0xffffffffu) {
        throw_record(path_, pos, records_,
                     "corrupt header (length " + std::to_string(length) + ", check " +
                         std::to_string(check) + ")");
      }
      if (length > kMaxRecordLength || length < kMinRecordLength) {
        throw_record(path_, pos, records_,
                     "length " + std::to_string(length) + " is outside " +
                         std::to_string(kMinRecordLength) + ".." +
                         std::to_string(kMaxRecordLength));
      }
      if (log.size() - pos - kHeaderBytes < length) break;  // a torn append
      const std::optional<std::vector<uint8_t>> plain =
          unseal(path_, key_, records_, std::span(log).subspan(pos + kHeaderBytes, length));
      if (!plain) {
        throw_record(path_, pos, records_, "authentication failed (wrong key or tampered file)");
      }
      apply(path_, pos, records_, *plain, waiting_, outbox_);
      pos += kHeaderBytes + length;
      ++records_;
    }
    if (pos < log.size() &&
        (::ftruncate(fd.get(), static_cast<off_t>(pos)) != 0 || ::fsync(fd.get()) != 0)) {
      throw_io(path_, "cutting the torn record at byte " + std::to_string(pos) + " failed", errno);
    }
    // The ACK that emptied the outbox was written, but the compaction after it was not.
    const bool compact = outbox_.empty() && records_ > waiting_.size();
    if (compact) {
      fd = rewrite_log(path_, key_, waiting_);
      records_ = waiting_.size();
    } else {
      Path tmp = path_;
      tmp += ".tmp";
      ::unlink(tmp.c_str());  // left by a compaction that crashed before its rename
    }
    if (created || compact) sync_parent_directory(path_);
    fd_ = fd.release();
  } catch (...) {
    OPENSSL_cleanse(key_.data(), key_.size());
    throw;
  }
}

ReportQueue::~ReportQueue() {
  if (fd_ >= 0) ::close(fd_);
  OPENSSL_cleanse(key_.data(), key_.size());
}

void ReportQueue::push(std::span<const uint8_t> report) {
  if (report.empty() || report.size() > kMaxReportBytes) {
    throw Error("ReportQueue::push: a report must be 1 to " + std::to_string(kMaxReportBytes) +
                " bytes, but is " + std::to_string(report.size()) + ".");
  }
  std::vector<uint8_t> record;
  seal(path_, key_, records_, kReport, report, record);
  std::vector<uint8_t> copy(report.begin(), report.end());
  reserve_for(waiting_, 1);
  append(fd_, path_, record);
  // Nothing below allocates, so memory cannot disagree with the file.
  ++records_;
  waiting_.push_back(std::move(copy));
}

void ReportQueue::form_batches(uint32_t max_reports, Rng& rng) {
  if (max_reports == 0) throw Error("ReportQueue::form_batches: max_reports must be positive.");
  if (waiting_.empty()) return;
  const std::size_t count = (waiting_.size() + max_reports - 1) / max_reports;
  std::vector<QueuedBatch> formed(count);
  std::vector<uint8_t> records;
  std::array<uint8_t, kBatchPayloadBytes> payload;
  for (std::size_t i = 0; i < count; ++i) {
    QueuedBatch& batch = formed[i];
    batch.id = random_batch_id(rng);
    const bool taken = std::any_of(outbox_.begin(), outbox_.end(),
                                   [&](const QueuedBatch& b) { return b.id == batch.id; }) ||
                       std::any_of(formed.begin(), formed.begin() + static_cast<std::ptrdiff_t>(i),
                                   [&](const QueuedBatch& b) { return b.id == batch.id; });
    // The daemon would take a reused id for a retry and drop the batch as a duplicate.
    if (taken) throw Error("ReportQueue::form_batches: rng repeated a batch id; use a Csprng.");
    const std::size_t n = std::min<std::size_t>(max_reports, waiting_.size() - i * max_reports);
    batch.reports.reserve(n);
    std::copy(batch.id.begin(), batch.id.end(), payload.begin());
    put_le(n, 4, payload.data() + sizeof(BatchId));
    seal(path_, key_, records_ + i, kBatch, payload, records);
  }
  reserve_for(outbox_, count);
  append(fd_, path_, records);
  // Nothing below allocates, so memory cannot disagree with the file.
  records_ += count;
  auto next = waiting_.begin();
  for (QueuedBatch& batch : formed) {
    const std::size_t n = std::min<std::size_t>(max_reports, waiting_.end() - next);
    for (std::size_t j = 0; j < n; ++j) batch.reports.push_back(std::move(*next++));
    outbox_.push_back(std::move(batch));
  }
  waiting_.clear();
}

void ReportQueue::acknowledge(const BatchId& id) {
  const auto it = std::find_if(outbox_.begin(), outbox_.end(),
                               [&](const QueuedBatch& b) { return b.id == id; });
  if (it == outbox_.end()) return;
  std::vector<uint8_t> record;
  seal(path_, key_, records_, kAck, id, record);
  append(fd_, path_, record);
  ++records_;
  outbox_.erase(it);
  if (!outbox_.empty()) return;
  Fd fresh = rewrite_log(path_, key_, waiting_);
  // The rename happened: from here on the old fd names an unlinked file.
  if (fd_ >= 0) ::close(fd_);
  fd_ = fresh.release();
  records_ = waiting_.size();
  sync_parent_directory(path_);
}

std::size_t ReportQueue::batched_reports() const {
  std::size_t n = 0;
  for (const QueuedBatch& b : outbox_) n += b.reports.size();
  return n;
}

std::uintmax_t ReportQueue::file_size() const {
  return std::filesystem::file_size(path_);
}

}  // namespace residue
