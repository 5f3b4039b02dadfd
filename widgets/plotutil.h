#pragma once
// Shared plot set-up: title, axis labels, readable fonts, and a context menu to save PNG / PDF.
#include <QString>

class QCustomPlot;
class QCPAxis;
class QCPColorMap;
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
/// The colour for series i (a fixed, colour-blind-friendly palette).
unsigned int seriesColor(int i);

}  // namespace dilute::gui
