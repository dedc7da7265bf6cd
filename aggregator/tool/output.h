// Output helpers shared by the subcommands: aligned tables for people, a progress bar on
// stderr (only when it is a terminal, so logs and pipes stay clean), number formatting.
//
//   Table t({"protocol", "mse"});
//   t.add({"mss", format_number(3.9e-5)});
//   t.print(std::cout);
#pragma once

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace residue {

class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  /// Left-aligns the first column, right-aligns the rest.
  void print(std::ostream& out) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

/// `significant` significant digits, switching to scientific notation for small/large values.
std::string format_number(double value, int significant = 4);

/// A one-line progress bar on stderr, redrawn in place; silent when stderr is not a TTY.
class ProgressBar {
 public:
  explicit ProgressBar(std::string label);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;
  void update(std::size_t done, std::size_t total);

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
};

}  // namespace residue
