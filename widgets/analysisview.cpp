#include "analysisview.h"

#include <qcustomplot.h>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QKeyEvent>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QTableWidget>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "analysis/optiontable.h"
#include "optionform.h"
#include "plotutil.h"

namespace dilute::gui {

AnalysisView::AnalysisView(QWidget* parent) : QWidget(parent) {
    heat_ = makePlot(tr("Entropy per channel (click a block to select it)"), tr("head | attention | MLP"), tr("block"),
                     this);
    entropy_ = makePlot(tr("Attention vs MLP entropy per block"), tr("block"), tr("entropy (nats)"), this);
    transfer_ =
        makePlot(tr("Transfer entropy T({i}) when block i's attention is skipped"), tr("block"), tr("T (nats)"), this);
    pair_ = makePlot(tr("Pairwise transfer entropy T({i,j})"), tr("block j"), tr("block i"), this);
    heatMap_ = addColorMap(heat_, tr("nats / channel"));
    pairMap_ = addColorMap(pair_, tr("T (nats)"));
    heat_->setToolTip(
        tr("Hover for exact values; click a row (or use Up/Down and Space) to select or deselect that block."));
    heat_->setMouseTracking(true);
    heat_->setFocusPolicy(Qt::StrongFocus);
    heat_->installEventFilter(this);
    connect(heat_, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) {
        if (e->button() != Qt::LeftButton) return;
        const int b = blockAt(e->pos());
        if (b < 0) return;
        cursor_ = b;  // the keyboard continues from the clicked row
        toggleBlock(b);
    });
    connect(heat_, &QCustomPlot::mouseMove, this, [this](QMouseEvent* e) { showTooltip(e); });
    connect(transfer_, &QCustomPlot::plottableClick, this,
            [this](QCPAbstractPlottable*, int index, QMouseEvent*) { toggleBlock(index); });

    // Generated from the table `dilute analyze` takes its options from (model, data and device
    // come from the Project panel).
    form_ = new OptionForm(analysis::analysisOptionTable(), this);
    run_ = new QPushButton(tr("Run analysis"), this);
    run_->setShortcut(QKeySequence("Ctrl+R"));
    run_->setToolTip(tr("Entropy profile, transfer entropy and the selection on the calibration set (Ctrl+R)"));
    auto_ = new QPushButton(tr("Auto-select K"), this);
    auto_->setToolTip(tr("Run the chosen selector for K blocks; the chosen blocks light up"));
    selLabel_ = new QLabel(tr("Selected: none"), this);
    selLabel_->setWordWrap(true);
    // The NOSE trace: one row per greedy round, the candidates' T listed one per line so no
    // column is cut off in the narrow side panel (the full text is also the row's tooltip).
    trace_ = new QTableWidget(0, 3, this);
    trace_->setHorizontalHeaderLabels({tr("round"), tr("taken"), tr("T({taken} + c)")});
    trace_->horizontalHeader()->setSectionResizeMode(0, QHeaderView::ResizeToContents);
    trace_->horizontalHeader()->setSectionResizeMode(1, QHeaderView::ResizeToContents);
    trace_->horizontalHeader()->setSectionResizeMode(2, QHeaderView::Stretch);
    trace_->verticalHeader()->hide();
    trace_->setWordWrap(true);
    trace_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    trace_->setMinimumWidth(260);
    connect(run_, &QPushButton::clicked, this, [this] { Q_EMIT analysisRequested(options()); });
    connect(auto_, &QPushButton::clicked, this, [this] {
        auto o = options();
        o.pairwise = false;  // the selection only
        Q_EMIT analysisRequested(o);
    });

    auto* side = new QVBoxLayout;
    auto* scroll = scrollingPanel(form_, this);
    scroll->setMinimumHeight(200);
    side->addWidget(scroll, 1);
    side->addWidget(run_);
    side->addWidget(auto_);
    side->addWidget(makeProgressLabel(this));
    side->addWidget(selLabel_);
    side->addWidget(new QLabel(tr("Selection trace (NOSE rounds)"), this));
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
    sideBox->setMaximumWidth(330);
    top->addWidget(sideBox);
    redraw();
}

QList<QCustomPlot*> AnalysisView::plots() const { return {heat_, entropy_, transfer_, pair_}; }
analysis::AnalysisOptions AnalysisView::options() const {
    analysis::AnalysisOptions o;
    form_->store(o);
    return o;
}

void AnalysisView::setBusy(bool busy) {
    run_->setEnabled(!busy);
    auto_->setEnabled(!busy);
}

void AnalysisView::setResult(const analysis::AnalysisResult& r, bool partial) {
    result_ = r;
    partial_ = partial;
    cursor_ = std::clamp(cursor_, 0, std::max(0, r.profile.depth - 1));
    if (auto* k = qobject_cast<QSpinBox*>(form_->editor("k")); k && r.profile.depth > 0) k->setMaximum(r.profile.depth);
    selected_ = std::set<int>(r.selection.blocks.begin(), r.selection.blocks.end());
    trace_->setRowCount(0);
    for (size_t s = 0; s < r.selection.trace.size(); ++s) {
        const auto& st = r.selection.trace[s];
        QStringList cands;
        for (size_t c = 0; c < st.candidates.size(); ++c)
            cands << QString("%1: %2%3")
                         .arg(st.candidates[c])
                         .arg(st.t[c], 0, 'f', 4)
                         .arg(st.candidates[c] == st.chosen ? " *" : "");
        trace_->insertRow(int(s));
        auto* round = new QTableWidgetItem(QString::number(s + 1));
        auto* taken = new QTableWidgetItem(QString("%1\nT=%2").arg(st.chosen).arg(st.t_chosen, 0, 'f', 4));
        auto* all = new QTableWidgetItem(cands.join("\n"));
        for (auto* it : {round, taken, all})
            it->setToolTip(tr("round %1: took block %2; T with each candidate:\n%3")
                               .arg(s + 1)
                               .arg(st.chosen)
                               .arg(cands.join("\n")));
        trace_->setItem(int(s), 0, round);
        trace_->setItem(int(s), 1, taken);
        trace_->setItem(int(s), 2, all);
    }
    trace_->resizeRowsToContents();
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
                   .arg(b)
                   .arg(col)
                   .arg(p.head[b][col], 0, 'f', 3)
                   .arg(p.head[b][col] / std::max(1, p.head_dim), 0, 'f', 3);
    else if (col == p.heads)
        text = QString("block %1, attention branch\nH = %2 nats, %3 per channel")
                   .arg(b)
                   .arg(p.attn[b], 0, 'f', 3)
                   .arg(p.attn[b] / std::max(1, p.embed_dim), 0, 'f', 3);
    else if (col == p.heads + 1)
        text = QString("block %1, MLP branch\nH = %2 nats, %3 per channel")
                   .arg(b)
                   .arg(p.mlp[b], 0, 'f', 3)
                   .arg(p.mlp[b] / std::max(1, p.embed_dim), 0, 'f', 3);
    if (b < int(result_.t_single.size())) text += QString("\nT({%1}) = %2").arg(b).arg(result_.t_single[b], 0, 'f', 4);
    text += selected_.count(b) ? tr("\nselected (click to deselect)") : tr("\nclick to select");
    QToolTip::showText(e->globalPosition().toPoint(), text, heat_);
}

bool AnalysisView::eventFilter(QObject* watched, QEvent* event) {
    if (watched != heat_) return QWidget::eventFilter(watched, event);
    if (event->type() == QEvent::FocusIn || event->type() == QEvent::FocusOut) {
        drawHighlights();
    } else if (event->type() == QEvent::KeyPress && hasResult()) {
        const int key = static_cast<QKeyEvent*>(event)->key();
        const int L = result_.profile.depth;
        if (key == Qt::Key_Up || key == Qt::Key_Down) {
            cursor_ = std::clamp(cursor_ + (key == Qt::Key_Down ? 1 : -1), 0, L - 1);
            drawHighlights();
            return true;
        }
        if (key == Qt::Key_Space || key == Qt::Key_Return || key == Qt::Key_Enter) {
            toggleBlock(cursor_);
            return true;
        }
    }
    return QWidget::eventFilter(watched, event);
}

}  // namespace dilute::gui
