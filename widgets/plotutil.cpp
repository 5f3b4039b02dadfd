#include "plotutil.h"

#include <cmath>

#include <qcustomplot.h>
#include <QFileDialog>
#include <QMenu>

namespace dilute::gui {

unsigned int seriesColor(int i) {
    static const unsigned int palette[] = {0x0072B2, 0xD55E00, 0x009E73, 0xCC79A7,
                                           0xE69F00, 0x56B4E9, 0xF0E442, 0x000000};
    return palette[i % 8];
}

bool savePlot(QCustomPlot* plot, const QString& path) {
    if (path.endsWith(".pdf", Qt::CaseInsensitive)) return plot->savePdf(path);
    return plot->savePng(path, 0, 0, 2.0);
}

void applyPalette(QCustomPlot* p) {
    const QPalette pal = p->palette();
    const QColor fg = pal.color(QPalette::WindowText), bg = pal.color(QPalette::Base);
    QColor grid = fg;
    grid.setAlpha(45);
    p->setBackground(bg);
    for (auto* ax : p->axisRect()->axes()) {
        ax->setBasePen(QPen(fg));
        ax->setTickPen(QPen(fg));
        ax->setSubTickPen(QPen(fg));
        ax->setLabelColor(fg);
        ax->setTickLabelColor(fg);
        ax->grid()->setPen(QPen(grid, 1, Qt::DotLine));
    }
    p->legend->setBrush(bg);
    p->legend->setTextColor(fg);
    p->legend->setBorderPen(QPen(grid));
}

QCustomPlot* makePlot(const QString& title, const QString& xLabel, const QString& yLabel, QWidget* parent) {
    auto* p = new QCustomPlot(parent);
    applyPalette(p);
    p->setMinimumSize(260, 190);
    p->plotLayout()->insertRow(0);
    auto* t = new QCPTextElement(p, title, QFont(p->font().family(), 10, QFont::Bold));
    t->setTextColor(p->palette().color(QPalette::WindowText));
    p->plotLayout()->addElement(0, 0, t);
    p->xAxis->setLabel(xLabel);
    p->yAxis->setLabel(yLabel);
    p->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(p, &QWidget::customContextMenuRequested, p, [p, title](const QPoint& pos) {
        QMenu menu(p);
        menu.addAction(QObject::tr("Save as PNG..."));
        auto* pdf = menu.addAction(QObject::tr("Save as PDF..."));
        auto* chosen = menu.exec(p->mapToGlobal(pos));
        if (!chosen) return;
        const bool isPdf = chosen == pdf;
        QString name = title;
        name.replace(QRegularExpression("[^A-Za-z0-9]+"), "_");
        const QString path = QFileDialog::getSaveFileName(p, chosen->text(), name + (isPdf ? ".pdf" : ".png"),
                                                          isPdf ? "PDF (*.pdf)" : "PNG (*.png)");
        if (!path.isEmpty()) savePlot(p, path);
    });
    return p;
}

void showLegendBelow(QCustomPlot* plot) {
    if (plot->legend->layout() != plot->axisRect()->insetLayout()) {  // already below: only show it
        plot->legend->setVisible(true);
        return;
    }
    auto* row = new QCPLayoutGrid;
    plot->plotLayout()->addElement(plot->plotLayout()->rowCount(), 0, row);
    row->setMargins(QMargins(4, 0, 4, 4));
    row->addElement(0, 0, plot->legend);
    plot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    plot->legend->setVisible(true);
    plot->plotLayout()->setRowStretchFactor(plot->plotLayout()->rowCount() - 1, 0.001);
}

QCPItemText* emptyStateText(QCustomPlot* plot, const QString& text) {
    auto* t = new QCPItemText(plot);
    t->position->setType(QCPItemPosition::ptAxisRectRatio);
    t->position->setCoords(0.5, 0.5);
    t->setPositionAlignment(Qt::AlignCenter);
    t->setTextAlignment(Qt::AlignCenter);
    t->setText(text);
    QColor c = plot->palette().color(QPalette::WindowText);
    c.setAlpha(160);
    t->setColor(c);
    t->setClipToAxisRect(false);
    return t;
}

QCPColorMap* addColorMap(QCustomPlot* p, const QString& scaleLabel) {
    auto* map = new QCPColorMap(p->xAxis, p->yAxis);
    auto* scale = new QCPColorScale(p);
    p->plotLayout()->addElement(1, 1, scale);
    scale->setType(QCPAxis::atRight);
    scale->axis()->setLabel(scaleLabel);
    map->setColorScale(scale);
    QCPColorGradient viridis;  // perceptually uniform, colour-blind friendly
    viridis.clearColorStops();
    viridis.setColorStopAt(0.0, QColor(68, 1, 84));
    viridis.setColorStopAt(0.25, QColor(59, 82, 139));
    viridis.setColorStopAt(0.5, QColor(33, 145, 140));
    viridis.setColorStopAt(0.75, QColor(94, 201, 98));
    viridis.setColorStopAt(1.0, QColor(253, 231, 37));
    map->setGradient(viridis);
    map->setInterpolate(false);
    auto* group = new QCPMarginGroup(p);
    p->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    scale->setMarginGroup(QCP::msBottom | QCP::msTop, group);
    p->yAxis->setRangeReversed(true);
    return map;
}

void integerTicks(QCPAxis* axis, int n, const QString& prefix) {
    QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
    for (int i = 0; i < n; ++i) t->addTick(i, prefix + QString::number(i));
    axis->setTicker(t);
}

std::vector<double> emaSmooth(const std::vector<double>& y, double weight) {
    std::vector<double> out(y.size());
    double s = 0, debias = 1;
    for (size_t i = 0; i < y.size(); ++i) {
        if (!std::isfinite(y[i])) {
            out[i] = y[i];
            continue;
        }
        s = weight * s + (1 - weight) * y[i];
        debias *= weight;
        out[i] = weight > 0 ? s / (1 - debias) : y[i];
    }
    return out;
}

void setSmoothed(QCPGraph* raw, QCPGraph* smooth, double weight) {
    QVector<double> keys;
    std::vector<double> values;
    for (auto it = raw->data()->constBegin(); it != raw->data()->constEnd(); ++it) {
        keys.push_back(it->key);
        values.push_back(it->value);
    }
    const auto s = emaSmooth(values, weight);
    smooth->setData(keys, QVector<double>(s.begin(), s.end()), true);
}

QCPRange fittedRange(const QCPGraph* graph, double skip, bool logScale) {
    const auto* d = graph->data().data();
    if (d->isEmpty()) return QCPRange(logScale ? 0.1 : 0, 1);
    const double first = d->constBegin()->key, last = (d->constEnd() - 1)->key;
    const double from = first + skip * (last - first);
    double lo = INFINITY, hi = -INFINITY;
    for (auto it = d->constBegin(); it != d->constEnd(); ++it) {
        if (it->key < from || !std::isfinite(it->value) || (logScale && it->value <= 0)) continue;
        lo = std::min(lo, it->value);
        hi = std::max(hi, it->value);
    }
    if (!(lo <= hi)) return QCPRange(logScale ? 0.1 : 0, 1);
    if (logScale) return QCPRange(lo / 1.15, hi * 1.15);
    const double pad = hi > lo ? 0.06 * (hi - lo) : std::max(1e-3, 0.05 * std::fabs(hi));
    return QCPRange(lo - pad, hi + pad);
}

void enableViewReset(QCustomPlot* plot, const std::function<void()>& reset) {
    plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    auto moved = [plot] { plot->setProperty("userView", true); };
    QObject::connect(plot, &QCustomPlot::mouseWheel, plot, moved);
    QObject::connect(plot, &QCustomPlot::mouseMove, plot, [moved](QMouseEvent* e) {
        if (e->buttons() & Qt::LeftButton) moved();
    });
    QObject::connect(plot, &QCustomPlot::mouseDoubleClick, plot, [plot, reset](QMouseEvent*) {
        plot->setProperty("userView", false);
        reset();
    });
}

bool userView(const QCustomPlot* plot) { return plot->property("userView").toBool(); }

}  // namespace dilute::gui
