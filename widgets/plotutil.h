#pragma once
// Shared plot set-up: title, axis labels, readable fonts, and a context menu to save PNG / PDF.
#include <QString>

#include <functional>
#include <vector>

class QCustomPlot;
class QCPAxis;
class QCPColorMap;
class QCPGraph;
class QCPRange;
class QCPItemText;
class QWidget;

namespace dilute::gui {

QCustomPlot* makePlot(const QString& title, const QString& xLabel, const QString& yLabel, QWidget* parent);
/// Saves a plot by file extension (.png or .pdf); returns false on failure.
bool savePlot(QCustomPlot* plot, const QString& path);
/// Shows the legend in a row of its own under the axes, so it never covers the data (once per
/// plot; later calls only make it visible).
void showLegendBelow(QCustomPlot* plot);
/// Axis, text, grid and background colours from the widget's palette (readable in a dark theme).
void applyPalette(QCustomPlot* plot);
/// A centred grey message in the plot's axis rect (what to do before there is data); removed
/// with the plot's other items (clearItems).
QCPItemText* emptyStateText(QCustomPlot* plot, const QString& text);
/// A colour map over the plot's axes with a colour scale at the right (viridis: perceptually
/// uniform, colour-blind friendly), cells not interpolated, rows from the top.
QCPColorMap* addColorMap(QCustomPlot* plot, const QString& scaleLabel);
/// Ticks 0..n-1 labelled with their number (after `prefix`): blocks, heads.
void integerTicks(QCPAxis* axis, int n, const QString& prefix = QString());
/// TensorBoard's smoothing: s_i = w s_(i-1) + (1 - w) y_i from s = 0, shown debiased as
/// s_i / (1 - w^(i+1)), so the curve starts on the data; NaN points are passed over. w in [0, 1).
std::vector<double> emaSmooth(const std::vector<double>& y, double weight);
/// `smooth` := `raw`'s points smoothed with `weight` (emaSmooth).
void setSmoothed(QCPGraph* raw, QCPGraph* smooth, double weight);
/// A value range that fits `graph`'s points after the first `skip` fraction of its keys (the first
/// steps' large loss does not squash the rest), with a margin; positive values only on a log axis.
QCPRange fittedRange(const QCPGraph* graph, double skip, bool logScale);
/// Drag and wheel-zoom on `plot`; while the user has moved the view, `userView(plot)` is true (live
/// redraws leave it alone); a double-click clears it and calls `reset`.
void enableViewReset(QCustomPlot* plot, const std::function<void()>& reset);
bool userView(const QCustomPlot* plot);
/// The colour for series i (a fixed, colour-blind-friendly palette).
unsigned int seriesColor(int i);

}  // namespace dilute::gui
