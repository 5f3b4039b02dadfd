#pragma once
// Shared plot set-up: title, axis labels, readable fonts, and a context menu to save PNG / PDF.
#include <QString>

class QCustomPlot;
class QWidget;

namespace dilute::gui {

QCustomPlot* makePlot(const QString& title, const QString& xLabel, const QString& yLabel, QWidget* parent);
/// Saves a plot by file extension (.png or .pdf); returns false on failure.
bool savePlot(QCustomPlot* plot, const QString& path);
/// Shows the legend in a row of its own under the axes, so it never covers the data.
void showLegendBelow(QCustomPlot* plot);
/// The colour for series i (a fixed, colour-blind-friendly palette).
unsigned int seriesColor(int i);

}  // namespace dilute::gui
