#include "svg_plot.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <limits>
#include <sstream>

#include "output.h"
#include "residue/core/error.h"

namespace residue {
namespace {

constexpr double kWidth = 760, kHeight = 480;
constexpr double kLeft = 80, kRight = 180, kTop = 50, kBottom = 60;  // margins; legend right
// A palette that stays distinguishable in print and for common colour blindness (Tableau 10).
const char* const kColors[] = {"#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f",
                               "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '&':
        out += "&amp;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// "Nice" linear ticks (1, 2, 5 x 10^n steps) covering [lo, hi].
std::vector<double> linear_ticks(double lo, double hi) {
  const double raw = (hi - lo) / 6;
  const double magnitude = std::pow(10, std::floor(std::log10(raw)));
  double step = magnitude;
  for (double m : {1.0, 2.0, 5.0, 10.0}) {
    step = m * magnitude;
    if (raw <= step) break;
  }
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push_back(t);
  return ticks;
}

}  // namespace

std::string render_line_chart(const ChartSpec& spec, const std::vector<ChartSeries>& series) {
  auto usable = [&](double x, double y) {
    return std::isfinite(x) && std::isfinite(y) && (!spec.log_y || y > 0);
  };
  double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
  for (const ChartSeries& s : series) {
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      x_lo = std::min(x_lo, s.x[i]);
      x_hi = std::max(x_hi, s.x[i]);
      const double y = spec.log_y ? std::log10(s.y[i]) : s.y[i];
      y_lo = std::min(y_lo, y);
      y_hi = std::max(y_hi, y);
    }
  }
  if (!(x_lo <= x_hi)) throw Error("chart \"" + spec.title + "\": no point to plot.");
  if (x_hi == x_lo) x_hi = x_lo + 1;
  if (spec.log_y) {
    y_lo = std::floor(y_lo);
    y_hi = std::max(std::ceil(y_hi), y_lo + 1);
  } else {
    const double pad = y_hi > y_lo ? 0.05 * (y_hi - y_lo) : std::max(std::fabs(y_hi) * 0.1, 1.0);
    y_lo = std::min(0.0, y_lo - pad);  // linear charts start at zero when the data allow
    y_hi += pad;
  }
  const double plot_w = kWidth - kLeft - kRight, plot_h = kHeight - kTop - kBottom;
  auto px = [&](double x) { return kLeft + (x - x_lo) / (x_hi - x_lo) * plot_w; };
  auto py = [&](double y) {
    const double v = spec.log_y ? std::log10(y) : y;
    return kTop + (y_hi - v) / (y_hi - y_lo) * plot_h;
  };

  std::ostringstream svg;
  svg << std::fixed << std::setprecision(2);
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << kWidth << "\" height=\"" << kHeight
      << "\" viewBox=\"0 0 " << kWidth << ' ' << kHeight
      << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
      << "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n"
      << "<text x=\"" << kWidth / 2 << "\" y=\"28\" text-anchor=\"middle\" font-size=\"16\">"
      << escape(spec.title) << "</text>\n";
  // Grid and y ticks.
  std::vector<std::pair<double, std::string>> y_ticks;
  if (spec.log_y) {
    for (double e = y_lo; e <= y_hi + 1e-9; ++e) {
      // Decades read alike: 0.01 .. 100 in full, beyond that 1e-5, 1e6.
      const int exponent = static_cast<int>(e);
      y_ticks.emplace_back(std::pow(10, e), std::abs(exponent) <= 2
                                                ? format_number(std::pow(10, e), 2)
                                                : "1e" + std::to_string(exponent));
    }
  } else {
    for (double v : linear_ticks(y_lo, y_hi)) y_ticks.emplace_back(v, format_number(v, 3));
  }
  for (const auto& [v, text] : y_ticks) {
    svg << "<line x1=\"" << kLeft << "\" x2=\"" << kLeft + plot_w << "\" y1=\"" << py(v)
        << "\" y2=\"" << py(v) << "\" stroke=\"#ddd\"/>\n"
        << "<text x=\"" << kLeft - 6 << "\" y=\"" << py(v) + 4 << "\" text-anchor=\"end\">"
        << escape(text) << "</text>\n";
  }
  for (double v : linear_ticks(x_lo, x_hi)) {
    svg << "<line x1=\"" << px(v) << "\" x2=\"" << px(v) << "\" y1=\"" << kTop << "\" y2=\""
        << kTop + plot_h << "\" stroke=\"#eee\"/>\n"
        << "<text x=\"" << px(v) << "\" y=\"" << kTop + plot_h + 18 << "\" text-anchor=\"middle\">"
        << escape(format_number(v, 3)) << "</text>\n";
  }
  svg << "<rect x=\"" << kLeft << "\" y=\"" << kTop << "\" width=\"" << plot_w << "\" height=\""
      << plot_h << "\" fill=\"none\" stroke=\"black\"/>\n"
      << "<text x=\"" << kLeft + plot_w / 2 << "\" y=\"" << kHeight - 18
      << "\" text-anchor=\"middle\">" << escape(spec.x_label) << "</text>\n"
      << "<text transform=\"translate(20," << kTop + plot_h / 2
      << ") rotate(-90)\" text-anchor=\"middle\">" << escape(spec.y_label)
      << (spec.log_y ? " (log scale)" : "") << "</text>\n";
  // Series and legend.
  for (std::size_t k = 0; k < series.size(); ++k) {
    const ChartSeries& s = series[k];
    const char* color = kColors[k % std::size(kColors)];
    std::ostringstream points;
    points << std::fixed << std::setprecision(2);
    for (std::size_t i = 0; i < s.x.size() && i < s.y.size(); ++i) {
      if (!usable(s.x[i], s.y[i])) continue;
      points << px(s.x[i]) << ',' << py(s.y[i]) << ' ';
      svg << "<circle cx=\"" << px(s.x[i]) << "\" cy=\"" << py(s.y[i]) << "\" r=\"3\" fill=\""
          << color << "\"/>\n";
    }
    svg << "<polyline points=\"" << points.str() << "\" fill=\"none\" stroke=\"" << color
        << "\" stroke-width=\"2\"/>\n";
    const double ly = kTop + 10 + 20.0 * static_cast<double>(k);
    svg << "<line x1=\"" << kLeft + plot_w + 15 << "\" x2=\"" << kLeft + plot_w + 40 << "\" y1=\""
        << ly << "\" y2=\"" << ly << "\" stroke=\"" << color << "\" stroke-width=\"3\"/>\n"
        << "<text x=\"" << kLeft + plot_w + 46 << "\" y=\"" << ly + 4 << "\">" << escape(s.name)
        << "</text>\n";
  }
  svg << "</svg>\n";
  return svg.str();
}

}  // namespace residue
