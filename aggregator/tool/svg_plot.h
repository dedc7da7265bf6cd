// Line charts as standalone SVG files: axes with ticks, labels, a legend, and a log or
// linear y axis. Enough for `residue compare` to be read in any browser, with no plotting
// tool installed.
//
//   std::string svg = render_line_chart({.title = "MSE", .x_label = "epsilon",
//                                        .y_label = "mse", .log_y = true}, series);
#pragma once

#include <string>
#include <vector>

namespace residue {

struct ChartSeries {
  std::string name;
  /// Points; non-finite values and, on a log axis, non-positive ones are skipped.
  std::vector<double> x, y;
};

struct ChartSpec {
  std::string title;
  std::string x_label;
  std::string y_label;
  bool log_y = false;
};

/// The chart as an SVG document (UTF-8). Throws Error if there is no plottable point.
std::string render_line_chart(const ChartSpec& spec, const std::vector<ChartSeries>& series);

}  // namespace residue
