#include "output.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <sstream>

namespace residue {

void Table::print(std::ostream& out) const {
  std::vector<std::size_t> width(header_.size(), 0);
  auto measure = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
    }
  };
  measure(header_);
  for (const auto& row : rows_) measure(row);
  auto emit = [&](const std::vector<std::string>& row) {
    for (std::size_t c = 0; c < row.size() && c < width.size(); ++c) {
      if (c > 0) out << "  ";
      out << (c == 0 ? std::left : std::right) << std::setw(static_cast<int>(width[c])) << row[c];
    }
    out << std::right << '\n';
  };
  emit(header_);
  for (const auto& row : rows_) emit(row);
}

std::string format_number(double value, int significant) {
  std::ostringstream s;
  const double magnitude = std::fabs(value);
  if (value != 0 && (magnitude < 1e-3 || magnitude >= 1e7)) {
    s << std::scientific << std::setprecision(significant - 1) << value;
  } else {
    s << std::setprecision(significant) << value;
  }
  return s.str();
}

ProgressBar::ProgressBar(std::string label)
    : label_(std::move(label)), enabled_(isatty(STDERR_FILENO) == 1) {}

ProgressBar::~ProgressBar() {
  if (drawn_) std::fprintf(stderr, "\r\033[K");
}

void ProgressBar::update(std::size_t done, std::size_t total) {
  if (!enabled_ || total == 0) return;
  constexpr int kWidth = 30;
  const int filled = static_cast<int>(kWidth * done / total);
  std::fprintf(stderr, "\r%s [%.*s%*s] %zu/%zu", label_.c_str(), filled,
               "##############################", kWidth - filled, "", done, total);
  std::fflush(stderr);
  drawn_ = true;
}

}  // namespace residue
