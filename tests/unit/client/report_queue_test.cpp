// ReportQueue: what was pushed, batched and acknowledged survives reopening; a torn last
// append is cut and nothing else; the file holds no report in clear; tampering, a wrong key
// and a second opener are refused with an Error naming the file (and the record's offset).
#include "report_queue.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "residue/core/error.h"
#include "residue/random/seeded_rng.h"
#include "support/client_fixture.h"

namespace residue {
namespace {

namespace fs = std::filesystem;
using Bytes = std::vector<uint8_t>;
using Catch::Matchers::Contains;

// On-disk record: u32 length and its complement, 12-byte nonce, sealed type byte and payload,
// 16-byte tag.
constexpr std::size_t kHeader = 8;
constexpr std::size_t kRecordOverhead = kHeader + 12 + 1 + 16;
// BATCH payload: 16-byte id and u32 count.
constexpr std::size_t kBatchRecordBytes = kRecordOverhead + 16 + 4;

QueueKey key_with(uint8_t fill) {
  QueueKey key;
  for (std::size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(fill + 7 * i);
  return key;
}

Bytes random_bytes(SeededRng& rng, std::size_t n) {
  Bytes out(n);
  for (uint8_t& b : out) b = static_cast<uint8_t>(rng.uniform(256));
  return out;
}

void write_bytes(const fs::path& path, const Bytes& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  REQUIRE(out);
}

// The waiting reports of the queue at `path`, read by batching them in a scratch copy.
std::vector<Bytes> waiting_reports(const fs::path& path, const QueueKey& key) {
  testing::TempDir scratch;
  fs::copy_file(path, scratch.path() / "q");
  ReportQueue q(scratch.path() / "q", key);
  const std::size_t batched = q.outbox().size();
  SeededRng rng(99);
  q.form_batches(UINT32_MAX, rng);
  std::vector<Bytes> out;
  for (std::size_t b = batched; b < q.outbox().size(); ++b) {
    out.insert(out.end(), q.outbox()[b].reports.begin(), q.outbox()[b].reports.end());
  }
  return out;
}

bool contains(const Bytes& haystack, std::span<const uint8_t> needle) {
  return std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end()) !=
         haystack.end();
}

TEST_CASE("report queue keeps reports, batches and acknowledgements across reopening",
          "[client][queue]") {
  testing::TempDir dir;
  const fs::path path = dir.path() / "queue";
  const QueueKey key = key_with(1);
  SeededRng rng(5);
  std::vector<Bytes> reports;
  for (std::size_t i = 0; i < 5; ++i) reports.push_back(random_bytes(rng, 10 + i));

  {
    ReportQueue q(path, key);
    CHECK(q.waiting() == 0);
    for (const Bytes& r : reports) q.push(r);
    CHECK(q.waiting() == 5);
  }
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(waiting_reports(path, key) == reports);

  std::vector<BatchId> ids;
  {
    ReportQueue q(path, key);
    REQUIRE(q.waiting() == 5);
    q.form_batches(2, rng);
    CHECK(q.waiting() == 0);
    CHECK(q.batched_reports() == 5);
    REQUIRE(q.outbox().size() == 3);
    CHECK(q.outbox()[0].reports == std::vector<Bytes>{reports[0], reports[1]});
    CHECK(q.outbox()[1].reports == std::vector<Bytes>{reports[2], reports[3]});
    CHECK(q.outbox()[2].reports == std::vector<Bytes>{reports[4]});
    for (const QueuedBatch& b : q.outbox()) ids.push_back(b.id);
    CHECK(ids[0] != ids[1]);
    CHECK(ids[1] != ids[2]);
  }
  const Bytes late = random_bytes(rng, 7);
  {
    ReportQueue q(path, key);
    REQUIRE(q.outbox().size() == 3);
    for (std::size_t b = 0; b < 3; ++b) CHECK(q.outbox()[b].id == ids[b]);
    CHECK(q.outbox()[1].reports == std::vector<Bytes>{reports[2], reports[3]});
    q.acknowledge(ids[1]);
    const std::uintmax_t size = q.file_size();
    q.acknowledge(BatchId{});  // unknown: ignored, nothing written
    CHECK(q.file_size() == size);
    q.push(late);  // while batches are in flight
  }
  {
    ReportQueue q(path, key);
    REQUIRE(q.outbox().size() == 2);
    CHECK(q.outbox()[0].id == ids[0]);
    CHECK(q.outbox()[1].id == ids[2]);
    CHECK(q.outbox()[1].reports == std::vector<Bytes>{reports[4]});
    CHECK(q.waiting() == 1);
    q.acknowledge(ids[0]);
    q.acknowledge(ids[2]);
    CHECK(q.outbox().empty());
    // Compacted: only the report still waiting is left in the file.
    CHECK(q.file_size() == kRecordOverhead + late.size());
  }
  CHECK_FALSE(fs::exists(dir.path() / "queue.tmp"));
  CHECK(waiting_reports(path, key) == std::vector<Bytes>{late});
  {
    ReportQueue q(path, key);
    CHECK(q.outbox().empty());
    q.form_batches(10, rng);
    REQUIRE(q.outbox().size() == 1);
    q.acknowledge(q.outbox()[0].id);
    CHECK(q.file_size() == 0);
  }
  ReportQueue q(path, key);
  CHECK(q.waiting() == 0);
  CHECK(q.outbox().empty());
}

TEST_CASE("report queue refuses empty reports and empty batches", "[client][queue]") {
  testing::TempDir dir;
  ReportQueue q(dir.path() / "queue", key_with(2));
  CHECK_THROWS_AS(q.push(Bytes{}), Error);
  SeededRng rng(1);
  q.push(Bytes{1, 2, 3});
  CHECK_THROWS_AS(q.form_batches(0, rng), Error);
  CHECK(q.waiting() == 1);
  CHECK(q.file_size() == kRecordOverhead + 3);
}

// The history every truncation test cuts into: R0 R1 R2, then BATCH(R0 R1) BATCH(R2) in one
// append, then R3, then ACK of the first batch.
struct History {
  Bytes file;
  std::vector<std::size_t> ends;  // ends[c]: file size with the first c records
  std::vector<Bytes> reports;
  std::vector<BatchId> ids;
};

History make_history(const fs::path& dir, const QueueKey& key) {
  History h;
  SeededRng rng(11);
  const fs::path path = dir / "history";
  ReportQueue q(path, key);
  h.ends.push_back(0);
  for (std::size_t i = 0; i < 4; ++i) h.reports.push_back(random_bytes(rng, 8 + i));
  for (std::size_t i = 0; i < 3; ++i) {
    q.push(h.reports[i]);
    h.ends.push_back(q.file_size());
  }
  q.form_batches(2, rng);
  REQUIRE(q.file_size() == h.ends.back() + 2 * kBatchRecordBytes);
  h.ends.push_back(h.ends.back() + kBatchRecordBytes);
  h.ends.push_back(q.file_size());
  for (const QueuedBatch& b : q.outbox()) h.ids.push_back(b.id);
  q.push(h.reports[3]);
  h.ends.push_back(q.file_size());
  q.acknowledge(h.ids[0]);  // the outbox is not empty after it: no compaction
  h.ends.push_back(q.file_size());
  REQUIRE(h.ends.size() == 8);
  h.file = testing::read_bytes(path);
  REQUIRE(h.file.size() == h.ends.back());
  return h;
}

// What a queue holding the first `c` records of the history shows. `deep` also reads the
// waiting reports back and appends after the cut (slower: several fsyncs).
void check_prefix(const History& h, std::size_t c, const fs::path& path, const QueueKey& key,
                  bool deep) {
  std::vector<std::vector<Bytes>> outbox;
  std::vector<Bytes> waiting;
  if (c <= 3) {
    waiting.assign(h.reports.begin(), h.reports.begin() + static_cast<std::ptrdiff_t>(c));
  } else {
    outbox.push_back({h.reports[0], h.reports[1]});
    if (c == 4) waiting.push_back(h.reports[2]);
    if (c >= 5) outbox.push_back({h.reports[2]});
    if (c >= 6) waiting.push_back(h.reports[3]);
    if (c == 7) outbox.erase(outbox.begin());
  }
  {
    ReportQueue q(path, key);
    REQUIRE(q.outbox().size() == outbox.size());
    for (std::size_t b = 0; b < outbox.size(); ++b) {
      CHECK(q.outbox()[b].reports == outbox[b]);
      CHECK(q.outbox()[b].id == h.ids[c == 7 ? b + 1 : b]);
    }
    CHECK(q.waiting() == waiting.size());
    CHECK(q.file_size() == h.ends[c]);  // the torn bytes are gone from the file
  }
  if (!deep) return;
  CHECK(waiting_reports(path, key) == waiting);
  // The cut left the sequence numbers whole: a new record appends and replays.
  {
    ReportQueue q(path, key);
    q.push(Bytes{42});
  }
  ReportQueue q(path, key);
  CHECK(q.waiting() == waiting.size() + 1);
}

TEST_CASE("report queue cut at any byte keeps exactly the whole records before the cut",
          "[client][queue][crash]") {
  testing::TempDir dir;
  const QueueKey key = key_with(3);
  const History h = make_history(dir.path(), key);
  // Every offset inside the last record (the ACK), and in every other record offsets inside
  // its header, nonce, ciphertext and tag (1 to 9, the middle, the last byte). At record
  // boundaries the waiting reports are also read back and a record appended (several fsyncs
  // each: slow on a busy disk).
  for (std::size_t t = 0; t <= h.file.size(); ++t) {
    const std::size_t whole = static_cast<std::size_t>(
        std::upper_bound(h.ends.begin(), h.ends.end(), t) - h.ends.begin() - 1);
    const std::size_t into = t - h.ends[whole];
    const std::size_t length = whole + 1 < h.ends.size() ? h.ends[whole + 1] - h.ends[whole] : 0;
    const bool deep = into == 0;
    const bool sampled =
        into <= 9 || into == length / 2 || into + 1 == length || whole + 2 == h.ends.size();
    if (!sampled) continue;
    INFO("cut at byte " << t << ": " << whole << " whole records");
    const fs::path path = dir.path() / ("cut-" + std::to_string(t));
    write_bytes(path, Bytes(h.file.begin(), h.file.begin() + static_cast<std::ptrdiff_t>(t)));
    check_prefix(h, whole, path, key, deep);
    fs::remove(path);
  }
}

TEST_CASE("report queue finishes a compaction a crash interrupted after the last ACK",
          "[client][queue][crash]") {
  testing::TempDir dir;
  const fs::path path = dir.path() / "queue";
  const fs::path crashed = dir.path() / "crashed";
  const QueueKey key = key_with(4);
  SeededRng rng(2);
  const Bytes early = random_bytes(rng, 9), late = random_bytes(rng, 12);
  {
    ReportQueue q(path, key);
    q.push(early);
    q.form_batches(5, rng);
    q.push(late);
    // A second name for the log's inode keeps the log as it is before the compaction
    // renames a fresh file over `path`: ACK appended, compaction not done.
    REQUIRE(::link(path.c_str(), crashed.c_str()) == 0);
    q.acknowledge(q.outbox()[0].id);
  }
  REQUIRE(fs::file_size(crashed) ==
          2 * kRecordOverhead + early.size() + late.size() + 2 * kBatchRecordBytes - 4);
  {
    ReportQueue q(crashed, key);
    CHECK(q.outbox().empty());
    CHECK(q.waiting() == 1);
    CHECK(q.file_size() == kRecordOverhead + late.size());
  }
  CHECK(waiting_reports(crashed, key) == std::vector<Bytes>{late});
  CHECK(testing::read_bytes(crashed).size() == testing::read_bytes(path).size());
}

TEST_CASE("report queue file holds no report bytes in clear", "[client][queue][privacy]") {
  testing::TempDir dir;
  const fs::path path = dir.path() / "queue";
  SeededRng rng(8);
  std::vector<Bytes> reports;
  for (int i = 0; i < 20; ++i) reports.push_back(random_bytes(rng, 100));
  reports.push_back(Bytes(64, 0xAB));  // low-entropy bytes must not show either
  {
    ReportQueue q(path, key_with(5));
    for (const Bytes& r : reports) q.push(r);
    q.push(reports[0]);  // a repeat (memoized reports repeat)
    q.form_batches(7, rng);
  }
  const Bytes file = testing::read_bytes(path);
  // No 8-byte window of any report appears: by chance one would with probability about
  // (file bytes x windows) / 2^64 < 1e-12.
  for (std::size_t i = 0; i < reports.size(); ++i) {
    for (std::size_t at = 0; at + 8 <= reports[i].size(); ++at) {
      INFO("report " << i << " bytes " << at << "..+8");
      REQUIRE_FALSE(contains(file, std::span(reports[i]).subspan(at, 8)));
    }
  }
  // The same report sealed twice looks different (fresh nonce): repeats are not visible.
  const std::size_t sealed = kRecordOverhead - kHeader + 100;  // nonce, ciphertext and tag
  const std::size_t repeat = 20 * (kRecordOverhead + 100) + (kRecordOverhead + 64);
  REQUIRE(file.size() >= repeat + kHeader + sealed);
  CHECK_FALSE(std::equal(file.begin() + kHeader,
                         file.begin() + static_cast<std::ptrdiff_t>(kHeader + sealed),
                         file.begin() + static_cast<std::ptrdiff_t>(repeat + kHeader)));
}

// Three REPORT records of 20 bytes each (57 bytes on disk); the middle one starts at 57.
constexpr std::size_t kReportBytes = 20;
constexpr std::size_t kRecord = kRecordOverhead + kReportBytes;

Bytes three_records(const fs::path& path, const QueueKey& key) {
  SeededRng rng(21);
  {
    ReportQueue q(path, key);
    for (int i = 0; i < 3; ++i) q.push(random_bytes(rng, kReportBytes));
  }
  Bytes file = testing::read_bytes(path);
  REQUIRE(file.size() == 3 * kRecord);
  return file;
}

// Opening `bytes` as a queue throws an Error naming the file and the byte offset `offset`.
void check_refused(const fs::path& path, const Bytes& bytes, const QueueKey& key,
                   std::size_t offset) {
  write_bytes(path, bytes);
  CHECK_THROWS_WITH(ReportQueue(path, key),
                    Contains(path.string()) && Contains("byte " + std::to_string(offset) + " "));
  const bool unchanged = testing::read_bytes(path) == bytes;
  CHECK(unchanged);  // refused, not "repaired"
}

TEST_CASE("report queue refuses a flipped bit in the nonce, ciphertext or tag of a record",
          "[client][queue][tamper]") {
  testing::TempDir dir;
  const QueueKey key = key_with(6);
  const Bytes file = three_records(dir.path() / "queue", key);
  const fs::path path = dir.path() / "tampered";
  for (std::size_t i = 4; i < kRecord; ++i) {
    for (int bit = 0; bit < 8; bit += 3) {
      INFO("middle record byte " << i << " bit " << bit);
      Bytes bad = file;
      bad[kRecord + i] ^= static_cast<uint8_t>(1 << bit);
      check_refused(path, bad, key, kRecord);
    }
  }
  Bytes bad = file;
  bad[2 * kRecord + 30] ^= 1;  // the last record, whole but altered: not a torn append
  check_refused(path, bad, key, 2 * kRecord);
}

// A torn append leaves a record whose length runs past the end of the file, so the queue cuts
// such a record. A corrupted length of a record in the MIDDLE must not look the same: every
// whole record after it would be cut too, silently and for good (ftruncate); the header's
// check field (~length) makes it an Error. Every bit of the middle record's header is flipped
// here; the failure lists the flips that opened without an Error.
TEST_CASE("report queue refuses a corrupted length field of a middle record",
          "[client][queue][tamper]") {
  testing::TempDir dir;
  const QueueKey key = key_with(7);
  const Bytes file = three_records(dir.path() / "queue", key);
  const fs::path path = dir.path() / "tampered";
  std::string silently_cut;
  for (std::size_t i = 0; i < kHeader; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      Bytes bad = file;
      bad[kRecord + i] ^= static_cast<uint8_t>(1 << bit);
      write_bytes(path, bad);
      try {
        ReportQueue q(path, key);
        silently_cut += " byte " + std::to_string(i) + " bit " + std::to_string(bit) + " (" +
                        std::to_string(q.waiting()) + " of 3 reports kept);";
      } catch (const Error& e) {
        INFO("length byte " << i << " bit " << bit << ": " << e.what());
        CHECK_THAT(e.what(),
                   Contains(path.string()) && Contains("byte " + std::to_string(kRecord) + " "));
        CHECK((testing::read_bytes(path) == bad));
      }
    }
  }
  INFO("length flips opened without an Error:" << silently_cut);
  CHECK(silently_cut.empty());
}

TEST_CASE("report queue cuts a zero-filled tail left by a crash", "[client][queue][crash]") {
  // A filesystem may persist a file's new size before its data: the unwritten blocks of the
  // last append read back as zeros. That is a torn append, not corruption.
  testing::TempDir dir;
  const QueueKey key = key_with(13);
  const Bytes file = three_records(dir.path() / "queue", key);
  const fs::path path = dir.path() / "zeros";
  for (std::size_t zeros : {1u, 7u, 8u, 9u, 57u, 4096u}) {
    INFO(zeros << " zero bytes after the records");
    Bytes padded = file;
    padded.resize(file.size() + zeros, 0);
    write_bytes(path, padded);
    {
      ReportQueue q(path, key);
      CHECK(q.waiting() == 3);
      CHECK(q.file_size() == file.size());
    }
    // Zeros that are not the tail are corruption.
    Bytes middle = file;
    middle.insert(middle.begin() + kRecord, zeros, 0);
    check_refused(path, middle, key, kRecord);
  }
}

TEST_CASE("report queue refuses swapped, dropped and replayed records", "[client][queue][tamper]") {
  testing::TempDir dir;
  const QueueKey key = key_with(8);
  const Bytes file = three_records(dir.path() / "queue", key);
  const fs::path path = dir.path() / "tampered";
  const auto record = [&](std::size_t i) {
    return Bytes(file.begin() + static_cast<std::ptrdiff_t>(i * kRecord),
                 file.begin() + static_cast<std::ptrdiff_t>((i + 1) * kRecord));
  };
  auto join = [](std::initializer_list<Bytes> parts) {
    Bytes out;
    for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
    return out;
  };
  SECTION("swapped") {
    check_refused(path, join({record(0), record(2), record(1)}), key, kRecord);
  }
  SECTION("middle dropped") {
    check_refused(path, join({record(0), record(2)}), key, kRecord);
  }
  SECTION("first dropped") {
    check_refused(path, join({record(1), record(2)}), key, 0);
  }
  SECTION("replayed at the end") {
    check_refused(path, join({record(0), record(1), record(2), record(0)}), key, 3 * kRecord);
  }
}

TEST_CASE("report queue refuses a wrong key", "[client][queue][tamper]") {
  testing::TempDir dir;
  const fs::path path = dir.path() / "queue";
  const Bytes file = three_records(path, key_with(9));
  CHECK_THROWS_WITH(ReportQueue(path, key_with(10)),
                    Contains(path.string()) && Contains("byte 0 ") && Contains("authentication"));
  CHECK(testing::read_bytes(path) == file);
  ReportQueue q(path, key_with(9));
  CHECK(q.waiting() == 3);
}

TEST_CASE("report queue refuses a second opener of the same file", "[client][queue]") {
  testing::TempDir dir;
  const fs::path path = dir.path() / "queue";
  {
    ReportQueue first(path, key_with(11));
    first.push(Bytes{1});
    CHECK_THROWS_WITH(ReportQueue(path, key_with(11)), Contains(path.string()) && Contains("lock"));
    first.push(Bytes{2});  // the refused opener changed nothing
  }
  ReportQueue again(path, key_with(11));
  CHECK(again.waiting() == 2);
}

TEST_CASE("report queue makes an existing file private", "[client][queue][privacy]") {
  testing::TempDir dir;
  const fs::path path = dir.path() / "queue";
  write_bytes(path, Bytes{});
  REQUIRE(::chmod(path.c_str(), 0644) == 0);
  ReportQueue q(path, key_with(12));
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
}

}  // namespace
}  // namespace residue
