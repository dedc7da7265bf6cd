#include "tally_inputs.h"

#include <openssl/evp.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "postgres_store.h"
#include "residue/core/error.h"
#include "residue/core/hex.h"
#include "residue/protocols/params.h"
#include "residue/wire/batch.h"
#include "residue/wire/tally_codec.h"
#include "sqlite_store.h"
#include "verify.h"

namespace residue {
namespace {

// Version 2 added "domain" (the task's Domain::id()); a version 1 file has none, which is what
// its params_hash was computed with.
constexpr const char* kTallyFileFormat = "residue.tally.2";
constexpr const char* kTallyFileFormatV1 = "residue.tally.1";

std::optional<std::string> postgres_conninfo(const std::string& input) {
  if (input.rfind("postgres:", 0) == 0 && input.rfind("postgres://", 0) != 0)
    return input.substr(9);
  if (input.rfind("postgresql://", 0) == 0 || input.rfind("postgres://", 0) == 0) return input;
  return std::nullopt;
}

std::string base64(std::span<const uint8_t> bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), bytes.data(),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::vector<uint8_t>> unbase64(const std::string& text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::vector<uint8_t> out(3 * (text.size() / 4));
  const int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  // EVP_DecodeBlock counts the padding as zero bytes.
  std::size_t size = static_cast<std::size_t>(n);
  for (std::size_t i = text.size(); i > 0 && text[i - 1] == '=' && size > 0; --i) --size;
  out.resize(size);
  return out;
}

ParamsHash parse_hash(const std::string& hex, const std::string& where) {
  ParamsHash hash{};
  if (hex.size() != 2 * hash.size()) throw Error(where + ": params_hash must be 32 hex digits.");
  for (std::size_t i = 0; i < hash.size(); ++i) {
    unsigned value = 0;
    if (std::sscanf(hex.c_str() + 2 * i, "%2x", &value) != 1)
      throw Error(where + ": params_hash is not hexadecimal.");
    hash[i] = static_cast<uint8_t>(value);
  }
  if (to_hex(hash) != hex) throw Error(where + ": params_hash must be lower-case hex.");
  return hash;
}

TaskTally read_tally_file(const std::string& path, const std::string& task) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(path + ": cannot read.");
  std::ostringstream text;
  text << in.rdbuf();
  const nlohmann::json json = nlohmann::json::parse(text.str(), nullptr, false);
  const std::string format = json.is_object() ? json.value("format", "") : "";
  if (format != kTallyFileFormat && format != kTallyFileFormatV1) {
    throw Error(path + ": not a tally file (" + kTallyFileFormat +
                "), a data directory or a postgres: store.");
  }
  try {
    const std::string name = json.at("task").get<std::string>();
    if (name != task) throw Error("it holds task \"" + name + "\", not \"" + task + "\".");
    const ProtocolParams params = params_from_json(json.at("params"));
    const std::string domain =
        format == kTallyFileFormat ? json.at("domain").get<std::string>() : "";
    const ParamsHash hash = parse_hash(json.at("params_hash").get<std::string>(), path);
    if (task_hash(params, domain) != hash) {
      throw Error("params_hash is not the hash of its params and domain.");
    }
    const std::optional<std::vector<uint8_t>> blob = unbase64(json.at("tally").get<std::string>());
    if (!blob) throw Error("tally is not base64.");
    ParseResult<Tally> tally = decode_tally(*blob);
    if (!tally.ok()) {
      throw Error("the tally does not decode: " + tally.error().message + " (byte " +
                  std::to_string(tally.error().offset) + ").");
    }
    return TaskTally{.record = {.name = name,
                                .params_json = canonical_json(params),
                                .domain_id = domain,
                                .params_hash = hash,
                                .batches = json.at("batches").get<uint64_t>(),
                                .reports = json.at("reports").get<uint64_t>(),
                                .last_batch = json.at("last_batch").get<int64_t>()},
                     .tally = std::move(tally).value()};
  } catch (const nlohmann::json::exception& e) {
    throw Error(path + ": " + e.what());
  } catch (const Error& e) {
    throw Error(path + ": " + e.what());
  }
}

}  // namespace

std::unique_ptr<Store> open_input_store(const std::string& input) {
  if (const std::optional<std::string> conninfo = postgres_conninfo(input)) {
    return open_postgres_store({.conninfo = *conninfo, .migrate = false});
  }
  if (!std::filesystem::is_directory(input)) {
    throw Error("\"" + input + "\" is not a directory (a daemon's data_dir) nor postgres:...");
  }
  if (!std::filesystem::exists(std::filesystem::path(input) / "residue.db")) {
    throw Error("\"" + input + "\" holds no residue.db: not a daemon's data_dir.");
  }
  return open_sqlite_store(input);
}

TaskTally read_task_tally(const std::string& input, const std::string& task) {
  if (!postgres_conninfo(input) && std::filesystem::is_regular_file(input)) {
    return read_tally_file(input, task);
  }
  const std::unique_ptr<Store> store = open_input_store(input);
  std::string known;
  for (TaskRecord& r : store->tasks()) {
    if (r.name == task) return TaskTally{.record = std::move(r), .tally = store->tally(task)};
    known += (known.empty() ? "" : ", ") + r.name;
  }
  // A connection string may hold a password: name the store without it.
  const std::optional<std::string> conninfo = postgres_conninfo(input);
  const std::string where = conninfo ? "postgres (" + describe_conninfo(*conninfo) + ")" : input;
  throw Error(where + ": no task \"" + task + "\" (it has: " + (known.empty() ? "none" : known) +
              ").");
}

TaskEstimates estimate_input(const std::string& input, const std::string& task,
                             std::optional<Domain> dictionary, std::size_t top,
                             Postprocess postprocess) {
  const TaskTally t = read_task_tally(input, task);
  const Task decoded = task_from_record(t.record, std::move(dictionary));
  return estimate_task(decoded, t.tally, t.record, top, postprocess);
}

void write_tally_file(const std::filesystem::path& path, const TaskTally& t) {
  const nlohmann::json json = {{"format", kTallyFileFormat},
                               {"task", t.record.name},
                               {"params", nlohmann::json::parse(t.record.params_json)},
                               {"domain", t.record.domain_id},
                               {"params_hash", to_hex(t.record.params_hash)},
                               {"batches", t.record.batches},
                               {"reports", t.record.reports},
                               {"last_batch", t.record.last_batch},
                               {"tally", base64(encode_tally(t.tally))}};
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << json.dump(2) << "\n";
  if (!out.flush()) throw Error(path.string() + ": cannot write.");
}

}  // namespace residue
