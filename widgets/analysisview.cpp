#include "analysisview.h"

#include <QCheckBox>
#include <QComboBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QTableWidget>
#include <QToolTip>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <cmath>

#include "plotutil.h"

namespace dilute::gui {
namespace {

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

void integerTicks(QCPAxis* axis, int n, const QString& prefix = "") {
    QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
    for (int i = 0; i < n; ++i) t->addTick(i, prefix + QString::number(i));
    axis->setTicker(t);
}

}  // namespace

AnalysisView::AnalysisView(QWidget* parent) : QWidget(parent) {
    heat_ = makePlot("Entropy per channel (click a block to select it)", "head | attention | MLP", "block", this);
    entropy_ = makePlot("Attention vs MLP entropy per block", "block", "entropy (nats)", this);
    transfer_ = makePlot("Transfer entropy T({i}) when block i's attention is skipped", "block", "T (nats)", this);
    pair_ = makePlot("Pairwise transfer entropy T({i,j})", "block j", "block i", this);
    heatMap_ = addColorMap(heat_, "nats / channel");
    pairMap_ = addColorMap(pair_, "T (nats)");
    heat_->setToolTip("Hover for exact values; click a row to select or deselect that block.");
    heat_->setMouseTracking(true);
    connect(heat_, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        if (e->button() != Qt::LeftButton) return;
        const int b = blockAt(e->pos());
        if (b >= 0) toggleBlock(b);
    });
    connect(heat_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { showTooltip(e); });
    connect(transfer_, &QCustomPlot::plottableClick, this, [this](QCPAbstractPlottable*, int index, QMouseEvent*) {
        toggleBlock(index);
    });

    selector_ = new QComboBox(this);
    selector_->addItems({"nose", "nose-abs", "random", "lowest", "first"});
    selector_->setToolTip("NOSE: greedy transfer entropy (the paper). Baselines: random K (seeded), K lowest attention "
                          "entropy, first K blocks.");
    k_ = new QSpinBox(this);
    k_->setRange(0, 64);
    k_->setValue(2);
    k_->setToolTip("How many blocks' attention to drop");
    pairwise_ = new QCheckBox("pairwise T({i,j})", this);
    pairwise_->setChecked(true);
    run_ = new QPushButton("Run analysis", this);
    run_->setShortcut(QKeySequence("Ctrl+R"));
    run_->setToolTip("Entropy profile, transfer entropy and the selection on the calibration set (Ctrl+R)");
    auto_ = new QPushButton("Auto-select K", this);
    auto_->setToolTip("Run the chosen selector for K blocks; the chosen blocks light up");
    selLabel_ = new QLabel("Selected: none", this);
    selLabel_->setWordWrap(true);
    trace_ = new QTableWidget(0, 3, this);
    trace_->setHorizontalHeaderLabels({"step", "taken", "T of candidates"});
    trace_->horizontalHeader()->setStretchLastSection(true);
    trace_->verticalHeader()->hide();
    trace_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    trace_->setMinimumWidth(220);
    connect(run_, &QPushButton::clicked, this, [this] { Q_EMIT analysisRequested(selectorName(), k(), pairwise()); });
    connect(auto_, &QPushButton::clicked, this, [this] { Q_EMIT analysisRequested(selectorName(), k(), false); });

    auto* side = new QVBoxLayout;
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel("Selector", this));
    row->addWidget(selector_, 1);
    side->addLayout(row);
    auto* row2 = new QHBoxLayout;
    row2->addWidget(new QLabel("K", this));
    row2->addWidget(k_);
    row2->addWidget(pairwise_);
    side->addLayout(row2);
    side->addWidget(run_);
    side->addWidget(auto_);
    side->addWidget(selLabel_);
    side->addWidget(new QLabel("Selection trace", this));
    side->addWidget(trace_, 1);
    auto* grid = new QGridLayout;
    grid->addWidget(heat_, 0, 0);
    grid->addWidget(entropy_, 0, 1);
    grid->addWidget(transfer_, 1, 0);
    grid->addWidget(pair_, 1, 1);
    auto* top = new QHBoxLayout(this);
    top->addLayout(grid, 1);
    auto* sideBox = new QWidget(this);
    sideBox->setLayout(side);
    sideBox->setMaximumWidth(300);
    top->addWidget(sideBox);
    redraw();
}

QList<QCustomPlot*> AnalysisView::plots() const { return {heat_, entropy_, transfer_, pair_}; }
QString AnalysisView::selectorName() const { return selector_->currentText(); }
int AnalysisView::k() const { return k_->value(); }
bool AnalysisView::pairwise() const { return pairwise_->isChecked(); }

void AnalysisView::setBusy(bool busy) {
    run_->setEnabled(!busy);
    auto_->setEnabled(!busy);
}

void AnalysisView::setResult(const analysis::AnalysisResult& r) {
    result_ = r;
    if (r.profile.depth > 0) k_->setMaximum(r.profile.depth);
    selected_ = std::set<int>(r.selection.blocks.begin(), r.selection.blocks.end());
    trace_->setRowCount(0);
    for (size_t s = 0; s < r.selection.trace.size(); ++s) {
        const auto& st = r.selection.trace[s];
        QStringList cands;
        for (size_t c = 0; c < st.candidates.size(); ++c)
            cands << QString("%1: %2").arg(st.candidates[c]).arg(st.t[c], 0, 'f', 3);
        trace_->insertRow(int(s));
        trace_->setItem(int(s), 0, new QTableWidgetItem(QString::number(s + 1)));
        trace_->setItem(int(s), 1, new QTableWidgetItem(QString("%1 (T=%2)").arg(st.chosen).arg(st.t_chosen, 0, 'f', 3)));
        trace_->setItem(int(s), 2, new QTableWidgetItem(cands.join("  ")));
    }
    redraw();
    Q_EMIT selectionChanged(selection());
}

void AnalysisView::setSelection(const std::vector<int>& blocks) {
    selected_ = std::set<int>(blocks.begin(), blocks.end());
    drawHighlights();
}

void AnalysisView::toggleBlock(int block) {
    if (block < 0 || block >= result_.profile.depth) return;
    if (!selected_.erase(block)) selected_.insert(block);
    result_.selection.selector = "manual";
    drawHighlights();
    Q_EMIT selectionChanged(selection());
}

int AnalysisView::blockAt(const QPoint& pixel) const {
    if (!hasResult() || !heat_->axisRect()->rect().contains(pixel)) return -1;
    const double y = heat_->yAxis->pixelToCoord(pixel.y());
    const int b = int(std::lround(y));
    return (b >= 0 && b < result_.profile.depth) ? b : -1;
}

void AnalysisView::showTooltip(QMouseEvent* e) {
    const int b = blockAt(e->pos());
    if (b < 0) return;
    const auto& p = result_.profile;
    const int col = int(std::lround(heat_->xAxis->pixelToCoord(e->pos().x())));
    QString text;
    if (col >= 0 && col < p.heads)
        text = QString("block %1, head %2 (before proj)\nH = %3 nats, %4 per channel")
                   .arg(b).arg(col).arg(p.head[b][col], 0, 'f', 3).arg(p.head[b][col] / std::max(1, p.head_dim), 0, 'f', 3);
    else if (col == p.heads)
        text = QString("block %1, attention branch\nH = %2 nats, %3 per channel")
                   .arg(b).arg(p.attn[b], 0, 'f', 3).arg(p.attn[b] / std::max(1, p.embed_dim), 0, 'f', 3);
    else if (col == p.heads + 1)
        text = QString("block %1, MLP branch\nH = %2 nats, %3 per channel")
                   .arg(b).arg(p.mlp[b], 0, 'f', 3).arg(p.mlp[b] / std::max(1, p.embed_dim), 0, 'f', 3);
    if (b < int(result_.t_single.size()))
        text += QString("\nT({%1}) = %2").arg(b).arg(result_.t_single[b], 0, 'f', 4);
    text += selected_.count(b) ? "\nselected (click to deselect)" : "\nclick to select";
    QToolTip::showText(e->globalPosition().toPoint(), text, heat_);
}

void AnalysisView::redraw() {
    const auto& p = result_.profile;
    const int L = p.depth, H = p.heads;
    for (auto* plot : plots()) plot->clearGraphs();
    entropy_->clearPlottables();
    transfer_->clearPlottables();
    if (L == 0) {
        for (auto* plot : plots()) plot->replot();
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
    entropy_->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignBottom | Qt::AlignRight);
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
    transfer_->clearPlottables();
    QStringList names;
    for (int b : selected_) names << QString::number(b);
    selLabel_->setText(QString("Selected (%1): %2").arg(selected_.size()).arg(names.isEmpty() ? "none" : names.join(", ")));
    if (L == 0) {
        for (auto* plot : plots()) plot->replot();
        return;
    }
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
    for (auto* plot : plots()) plot->replot();
}

}  // namespace dilute::gui
