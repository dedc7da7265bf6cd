// A small RAII layer over libpq for the PostgreSQL store: a connection that prepares each
// statement once and speaks PostgreSQL's binary formats both ways, a scoped transaction, and
// checked access to result rows. Errors are DatabaseError, naming the server (`where`).
//
//   constexpr pg::Statement kSelectDomain = {
//       "select_domain", "SELECT domain FROM residue.tasks WHERE name = $1::text"};
//   pg::Connection db(conninfo, "residue shard 1", "postgres store (host=db1)");
//   pg::Transaction tx(db);
//   pg::Result r = db.exec(kSelectDomain, pg::Params().bytes(std::string("words")));
//   const std::string domain = pg::Row(r.get(), 0, db.where()).text(0);
//   tx.commit();
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "residue/core/error.h"

namespace residue::pg {

// Type OIDs of the binary parameter and array formats (catalog/pg_type.h).
inline constexpr Oid kByteaOid = 17;
inline constexpr Oid kInt8Oid = 20;
inline constexpr Oid kInt4Oid = 23;
inline constexpr Oid kTextOid = 25;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

/// An Error from the database: its SQLSTATE, and whether the connection is gone.
class DatabaseError : public Error {
 public:
  DatabaseError(const std::string& message, std::string sqlstate, bool connection_lost)
      : Error(message), sqlstate_(std::move(sqlstate)), connection_lost_(connection_lost) {}
  const std::string& sqlstate() const { return sqlstate_; }
  bool connection_lost() const { return connection_lost_; }
  /// Deadlock or serialization failure: the transaction rolled back and may simply run again.
  bool retryable() const { return sqlstate_ == "40P01" || sqlstate_ == "40001"; }

 private:
  std::string sqlstate_;
  bool connection_lost_;
};

/// A libpq message without its trailing newline and period, to quote inside a sentence.
std::string trim_message(std::string message);

// Big-endian (network byte order) integers, as the binary formats carry them.
void append_be32(std::string& out, uint32_t v);
void append_be64(std::string& out, uint64_t v);
uint64_t read_be(const uint8_t* p, int bytes);

/// A one-dimensional array parameter in PostgreSQL's binary format (array_recv): ndim, has-null
/// flag, element type, then size and lower bound 1, then each element as length + bytes.
class BinaryArray {
 public:
  explicit BinaryArray(Oid element) : element_(element) {}

  void add_bytes(std::span<const uint8_t> bytes);
  void add_text(std::string_view text) {
    add_bytes({reinterpret_cast<const uint8_t*>(text.data()), text.size()});
  }
  void add_int8(int64_t v);
  void add_int4(int32_t v);

  std::string bytes() const;

 private:
  Oid element_;
  uint32_t count_ = 0;
  std::string elements_;
};

/// Binary parameters of one statement; each value is kept alive here until the call returns.
class Params {
 public:
  Params& bytes(std::string value) {
    values_.push_back(std::move(value));
    return *this;
  }
  Params& bytes(std::span<const uint8_t> value) {
    return bytes(std::string(reinterpret_cast<const char*>(value.data()), value.size()));
  }
  Params& int4(int32_t v);
  Params& int8(int64_t v);
  Params& array(const BinaryArray& a) { return bytes(a.bytes()); }

  int size() const { return static_cast<int>(values_.size()); }
  // Pointers into values_: valid until the next change of this object.
  void pointers(std::vector<const char*>& v, std::vector<int>& len, std::vector<int>& fmt) const;

 private:
  std::vector<std::string> values_;
};

/// The columns of row `row` of a binary result, checked: a NULL or a value of the wrong size
/// throws Error naming the column.
class Row {
 public:
  Row(const PGresult* r, int row, const std::string& where) : r_(r), row_(row), where_(where) {}

  std::span<const uint8_t> bytes(int col) const;
  std::string text(int col) const {
    const std::span<const uint8_t> b = bytes(col);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }
  int64_t int64(int col) const { return static_cast<int64_t>(fixed(col, 8)); }
  int32_t int32(int col) const { return static_cast<int32_t>(fixed(col, 4)); }

 private:
  uint64_t fixed(int col, int size) const;
  [[noreturn]] void fail(int col, const std::string& what) const;

  const PGresult* r_;
  int row_;
  const std::string& where_;
};

/// A statement prepared under `name` on each connection that runs it.
struct Statement {
  const char* name;
  const char* sql;
};

/// One libpq connection. Every statement it runs is prepared once per connection and sent with
/// binary parameters; results come back binary. Errors are DatabaseError naming the server.
class Connection {
 public:
  /// Connects (5 s timeout, TCP keepalives) and makes sure commits are synchronous. Throws
  /// DatabaseError (SQLSTATE 08001) when it cannot connect.
  Connection(const std::string& conninfo, const std::string& application_name,
             const std::string& where);

  bool ok() const { return PQstatus(conn_.get()) == CONNECTION_OK; }
  PGconn* get() const { return conn_.get(); }
  const std::string& where() const { return where_; }

  /// A statement without parameters (BEGIN, COMMIT, DDL); its result.
  Result exec(const std::string& sql);
  Result exec(const Statement& st, const Params& params);

  /// Runs `st` and calls `row` for each result row as it arrives (single-row mode), so a large
  /// result is never held whole. Throws DatabaseError on failure; an exception from `row` leaves
  /// the connection mid-result: discard it.
  template <typename OnRow>
  void stream(const Statement& st, const Params& params, OnRow&& row) {
    prepare(st);
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    params.pointers(values, lengths, formats);
    if (!PQsendQueryPrepared(conn_.get(), st.name, params.size(), values.data(), lengths.data(),
                             formats.data(), 1)) {
      fail(st.name, nullptr);
    }
    PQsetSingleRowMode(conn_.get());
    std::optional<DatabaseError> error;
    while (PGresult* raw = PQgetResult(conn_.get())) {
      Result r(raw);
      const ExecStatusType status = PQresultStatus(r.get());
      if (status == PGRES_SINGLE_TUPLE) {
        if (!error) row(r.get());
      } else if (status != PGRES_TUPLES_OK && !error) {
        try {
          fail(st.name, r.get());
        } catch (const DatabaseError& e) {
          error = e;  // drain the remaining results before throwing
        }
      }
    }
    if (error) throw *error;
  }

 private:
  struct ConnDeleter {
    void operator()(PGconn* c) const { PQfinish(c); }
  };

  /// Throws DatabaseError for `what`, with the message and SQLSTATE of `r` (or of the
  /// connection when `r` says nothing).
  [[noreturn]] void fail(const std::string& what, const PGresult* r) const;
  std::string setting(const char* name);
  void check(const PGresult* r, const std::string& what) const;
  void prepare(const Statement& st);

  std::string where_;
  std::unique_ptr<PGconn, ConnDeleter> conn_;
  std::set<std::string> prepared_;
};

/// BEGIN until commit(); leaving the scope without commit() rolls back (when still connected).
class Transaction {
 public:
  explicit Transaction(Connection& db) : db_(db) { db_.exec("BEGIN"); }
  ~Transaction();
  Transaction(const Transaction&) = delete;
  Transaction& operator=(const Transaction&) = delete;
  void commit() {
    done_ = true;
    db_.exec("COMMIT");
  }

 private:
  Connection& db_;
  bool done_ = false;
};

}  // namespace residue::pg
