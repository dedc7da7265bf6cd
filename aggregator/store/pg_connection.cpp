#include "pg_connection.h"

namespace residue::pg {

std::string trim_message(std::string message) {
  while (!message.empty() &&
         (message.back() == '\n' || message.back() == ' ' || message.back() == '.')) {
    message.pop_back();
  }
  return message;
}

void append_be32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

void append_be64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>(v >> shift));
}

uint64_t read_be(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | p[i];
  return v;
}

void BinaryArray::add_bytes(std::span<const uint8_t> bytes) {
  append_be32(elements_, static_cast<uint32_t>(bytes.size()));
  elements_.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  ++count_;
}

void BinaryArray::add_int8(int64_t v) {
  append_be32(elements_, 8);
  append_be64(elements_, static_cast<uint64_t>(v));
  ++count_;
}

void BinaryArray::add_int4(int32_t v) {
  append_be32(elements_, 4);
  append_be32(elements_, static_cast<uint32_t>(v));
  ++count_;
}

std::string BinaryArray::bytes() const {
  std::string out;
  append_be32(out, count_ == 0 ? 0 : 1);
  append_be32(out, 0);
  append_be32(out, element_);
  if (count_ > 0) {
    append_be32(out, count_);
    append_be32(out, 1);
  }
  return out + elements_;
}

Params& Params::int4(int32_t v) {
  std::string s;
  append_be32(s, static_cast<uint32_t>(v));
  return bytes(std::move(s));
}

Params& Params::int8(int64_t v) {
  std::string s;
  append_be64(s, static_cast<uint64_t>(v));
  return bytes(std::move(s));
}

void Params::pointers(std::vector<const char*>& v, std::vector<int>& len,
                      std::vector<int>& fmt) const {
  v.clear();
  len.clear();
  fmt.assign(values_.size(), 1);
  for (const std::string& s : values_) {
    v.push_back(s.data());
    len.push_back(static_cast<int>(s.size()));
  }
}

std::span<const uint8_t> Row::bytes(int col) const {
  if (PQgetisnull(r_, row_, col)) fail(col, "is NULL");
  return {reinterpret_cast<const uint8_t*>(PQgetvalue(r_, row_, col)),
          static_cast<std::size_t>(PQgetlength(r_, row_, col))};
}

uint64_t Row::fixed(int col, int size) const {
  const std::span<const uint8_t> b = bytes(col);
  if (b.size() != static_cast<std::size_t>(size)) fail(col, "has an unexpected size");
  return read_be(b.data(), size);
}

void Row::fail(int col, const std::string& what) const {
  throw Error(where_ + ": column " + PQfname(r_, col) + " " + what + ".");
}

Connection::Connection(const std::string& conninfo, const std::string& application_name,
                       const std::string& where)
    : where_(where) {
  // Defaults first: the connection string given as dbname overrides any of them.
  const char* keys[] = {"connect_timeout",
                        "fallback_application_name",
                        "keepalives_idle",
                        "keepalives_interval",
                        "keepalives_count",
                        "dbname",
                        nullptr};
  const char* values[] = {"5", application_name.c_str(), "15", "5", "3", conninfo.c_str(), nullptr};
  conn_.reset(PQconnectdbParams(keys, values, /*expand_dbname=*/1));
  if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK) {
    throw DatabaseError(where_ + ": cannot connect: " +
                            (conn_ ? trim_message(PQerrorMessage(conn_.get())) : "out of memory") +
                            ".",
                        "08001", true);
  }
  // An acknowledgement must mean durable: never let a server default of "off" through.
  if (setting("synchronous_commit") == "off") exec("SET synchronous_commit = on");
}

Result Connection::exec(const std::string& sql) {
  Result r(PQexec(conn_.get(), sql.c_str()));
  // Appended rather than "\"" + sql.substr(0, 60): GCC 12 sees a false -Wrestrict in that.
  std::string what = "\"";
  what.append(sql, 0, 60).push_back('"');
  check(r.get(), what);
  return r;
}

Result Connection::exec(const Statement& st, const Params& params) {
  prepare(st);
  std::vector<const char*> values;
  std::vector<int> lengths, formats;
  params.pointers(values, lengths, formats);
  Result r(PQexecPrepared(conn_.get(), st.name, params.size(), values.data(), lengths.data(),
                          formats.data(), /*resultFormat=*/1));
  check(r.get(), st.name);
  return r;
}

void Connection::fail(const std::string& what, const PGresult* r) const {
  const char* state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string message = r && PQresultErrorMessage(r)[0] != '\0' ? PQresultErrorMessage(r)
                                                                      : PQerrorMessage(conn_.get());
  throw DatabaseError(where_ + ": " + what + " failed: " + trim_message(message) + ".",
                      state ? state : "", !ok());
}

std::string Connection::setting(const char* name) {
  Result r(PQexecParams(conn_.get(), "SELECT current_setting($1)", 1, nullptr, &name, nullptr,
                        nullptr, 0));
  check(r.get(), std::string("reading ") + name);
  return PQntuples(r.get()) == 1 ? PQgetvalue(r.get(), 0, 0) : "";
}

void Connection::check(const PGresult* r, const std::string& what) const {
  const ExecStatusType status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(what, r);
}

void Connection::prepare(const Statement& st) {
  if (prepared_.count(st.name)) return;
  Result r(PQprepare(conn_.get(), st.name, st.sql, 0, nullptr));
  check(r.get(), std::string("preparing ") + st.name);
  prepared_.insert(st.name);
}

Transaction::~Transaction() {
  if (!done_ && db_.ok()) PQclear(PQexec(db_.get(), "ROLLBACK"));
}

}  // namespace residue::pg
