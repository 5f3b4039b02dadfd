// The Analysis view's drawing: the heatmap, attention vs MLP entropy, T({i}), the pairwise
// matrix and the NOSE trace from the result, and the selected blocks highlighted on each.
#include "analysisview.h"

#include <qcustomplot.h>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>

#include <algorithm>
#include <cmath>

#include "plotutil.h"

namespace dilute::gui {

void AnalysisView::redraw() {
    const auto& p = result_.profile;
    const int L = p.depth, H = p.heads;
    for (auto* plot : plots()) plot->clearGraphs();
    entropy_->clearPlottables();
    transfer_->clearPlottables();
    if (L == 0) {
        drawHighlights();  // the empty state: no colour map, a message in every plot
        return;
    }
    // Heatmap: entropy per channel, so heads (head_dim channels) and branches (embed_dim channels)
    // share one colour scale.
    const double hd = std::max(1, p.head_dim), D = std::max(1, p.embed_dim);
    heatMap_->data()->setSize(H + 2, L);
    heatMap_->data()->setRange(QCPRange(0, H + 1), QCPRange(0, L - 1));
    for (int b = 0; b < L; ++b) {
        for (int h = 0; h < H; ++h) heatMap_->data()->setCell(h, b, p.head[b][h] / hd);
        heatMap_->data()->setCell(H, b, p.attn[b] / D);
        heatMap_->data()->setCell(H + 1, b, p.mlp[b] / D);
    }
    heatMap_->rescaleDataRange(true);
    QSharedPointer<QCPAxisTickerText> xt(new QCPAxisTickerText);
    for (int h = 0; h < H; ++h) xt->addTick(h, QString("h%1").arg(h));
    xt->addTick(H, "attn");
    xt->addTick(H + 1, "MLP");
    heat_->xAxis->setTicker(xt);
    integerTicks(heat_->yAxis, L);
    heat_->rescaleAxes();
    heat_->xAxis->setRange(-0.5, H + 1.5);
    heat_->yAxis->setRange(-0.5, L - 0.5);

    auto* ga = entropy_->addGraph();
    auto* gm = entropy_->addGraph();
    ga->setName("attention");
    gm->setName("MLP");
    ga->setPen(QPen(QColor(seriesColor(0)), 2));
    gm->setPen(QPen(QColor(seriesColor(1)), 2));
    ga->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
    gm->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssSquare, 6));
    for (int b = 0; b < L; ++b) {
        if (std::isfinite(p.attn[b])) ga->addData(b, p.attn[b]);
        gm->addData(b, p.mlp[b]);
    }
    showLegendBelow(entropy_);
    integerTicks(entropy_->xAxis, L);
    entropy_->rescaleAxes();
    entropy_->xAxis->setRange(-0.5, L - 0.5);
    entropy_->yAxis->scaleRange(1.15, entropy_->yAxis->range().center());

    integerTicks(transfer_->xAxis, L);
    if (!result_.pairwise.empty()) {
        pairMap_->data()->setSize(L, L);
        pairMap_->data()->setRange(QCPRange(0, L - 1), QCPRange(0, L - 1));
        for (int i = 0; i < L; ++i)
            for (int j = 0; j < L; ++j) pairMap_->data()->setCell(j, i, result_.pairwise[i][j]);
        pairMap_->rescaleDataRange(true);
        pair_->xAxis->setRange(-0.5, L - 0.5);
        pair_->yAxis->setRange(-0.5, L - 0.5);
        integerTicks(pair_->xAxis, L);
        integerTicks(pair_->yAxis, L);
        pairMap_->setVisible(true);
    } else {
        pairMap_->setVisible(false);
    }
    drawHighlights();
}

void AnalysisView::drawHighlights() {
    const auto& p = result_.profile;
    const int L = p.depth, H = p.heads;
    heat_->clearItems();
    entropy_->clearItems();
    pair_->clearItems();
    transfer_->clearItems();
    transfer_->clearPlottables();
    QStringList names;
    for (int b : selected_) names << QString::number(b);
    selLabel_->setText(
        tr("Selected (%1): %2").arg(selected_.size()).arg(names.isEmpty() ? tr("none") : names.join(", ")));
    heatMap_->setVisible(L > 0);
    heatMap_->colorScale()->setVisible(L > 0);
    pairMap_->setVisible(L > 0 && !result_.pairwise.empty());
    pairMap_->colorScale()->setVisible(L > 0 && !result_.pairwise.empty());
    if (L == 0) {
        // No fake heatmap before there is data: say what to do instead.
        const QString hint =
            tr("No analysis yet.\nChoose a model and data under Project,\nthen Run analysis (Ctrl+R).");
        for (auto* plot : plots()) {
            plot->clearItems();
            emptyStateText(plot, hint);
            plot->replot();
        }
        return;
    }
    if (result_.t_single.empty())
        emptyStateText(transfer_,
                       partial_ ? tr("Transfer entropy: computing...") : tr("Transfer entropy not computed"));
    if (result_.pairwise.empty())
        emptyStateText(pair_, partial_ ? tr("Pairwise T: computed after the selection...")
                                       : tr("Pairwise T not computed:\ntick 'pairwise' and run the analysis"));
    auto* bars = new QCPBars(transfer_->xAxis, transfer_->yAxis);
    auto* selBars = new QCPBars(transfer_->xAxis, transfer_->yAxis);
    bars->setName("T({i})");
    selBars->setName("selected");
    bars->setBrush(QColor(seriesColor(0)));
    bars->setPen(Qt::NoPen);
    selBars->setBrush(QColor(seriesColor(1)));
    selBars->setPen(Qt::NoPen);
    for (int b = 0; b < L && b < int(result_.t_single.size()); ++b) {
        if (!std::isfinite(result_.t_single[b])) continue;
        (selected_.count(b) ? selBars : bars)->addData(b, result_.t_single[b]);
    }
    showLegendBelow(transfer_);
    transfer_->rescaleAxes();
    transfer_->xAxis->setRange(-0.7, L - 0.3);
    transfer_->yAxis->scaleRange(1.1, transfer_->yAxis->range().center());
    const QPen hl(QColor(0xD55E00), 3);
    for (int b : selected_) {
        auto* r = new QCPItemRect(heat_);
        r->topLeft->setCoords(-0.5, b - 0.5);
        r->bottomRight->setCoords(H + 1.5, b + 0.5);
        r->setPen(hl);
        auto* line = new QCPItemStraightLine(entropy_);
        line->point1->setCoords(b, 0);
        line->point2->setCoords(b, 1);
        line->setPen(QPen(QColor(0xD55E00), 1, Qt::DashLine));
        if (!result_.pairwise.empty()) {
            auto* pr = new QCPItemRect(pair_);
            pr->topLeft->setCoords(-0.5, b - 0.5);
            pr->bottomRight->setCoords(L - 0.5, b + 0.5);
            pr->setPen(QPen(QColor(0xD55E00), 2));
        }
    }
    if (heat_->hasFocus() && cursor_ >= 0 && cursor_ < L) {
        auto* c = new QCPItemRect(heat_);
        c->topLeft->setCoords(-0.5, cursor_ - 0.5);
        c->bottomRight->setCoords(H + 1.5, cursor_ + 0.5);
        c->setPen(QPen(heat_->palette().color(QPalette::Highlight), 2, Qt::DashLine));
    }
    for (auto* plot : plots()) plot->replot();
}

}  // namespace dilute::gui
