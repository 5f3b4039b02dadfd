#include "runsview.h"

#include <qcustomplot.h>
#include <QDateTime>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <QItemSelection>

#include "plotutil.h"
#include "train/runs.h"

namespace dilute::gui {

namespace {
enum Col { ColName, ColStatus, ColModel, ColBlocks, ColSelector, ColBest, ColFinal, ColEpochs, ColCreated, ColCount };

// Numbers sort as numbers (a plain QTableWidgetItem sorts text: "9.5" after "10.2").
class NumberItem : public QTableWidgetItem {
public:
    NumberItem(double v, const QString& text) : QTableWidgetItem(text) { setData(Qt::UserRole + 1, v); }
    bool operator<(const QTableWidgetItem& o) const override {
        return data(Qt::UserRole + 1).toDouble() < o.data(Qt::UserRole + 1).toDouble();
    }
};

QString blocksText(const std::vector<int>& b) {
    if (b.empty()) return QObject::tr("none");
    QStringList s;
    for (int x : b) s << QString::number(x);
    return s.join(",");
}

QString pct(double v) { return v < 0 ? QStringLiteral("-") : QString::number(v, 'f', 2); }
}  // namespace

RunsView::RunsView(QWidget* parent) : QWidget(parent) {
    root_ = new QLineEdit(QDir::home().filePath("dilute-runs"), this);
    root_->setToolTip(tr("Folder whose run folders (up to two levels down) are listed"));
    auto* browse = new QPushButton(tr("Browse..."), this);
    auto* refreshBtn = new QPushButton(tr("&Refresh"), this);
    summary_ = new QLabel(this);
    table_ = new QTableWidget(0, ColCount, this);
    table_->setHorizontalHeaderLabels({tr("Run"), tr("Status"), tr("Model"), tr("Blocks diluted"), tr("Selector"),
                                       tr("Best top-1 (%)"), tr("Final top-1 (%)"), tr("Epochs"), tr("Created")});
    table_->setSelectionBehavior(QAbstractItemView::SelectRows);
    table_->setSelectionMode(QAbstractItemView::ExtendedSelection);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setSortingEnabled(true);
    table_->verticalHeader()->setVisible(false);
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->horizontalHeader()->setStretchLastSection(true);
    table_->setToolTip(
        tr("Select several runs (Ctrl/Shift-click) to overlay their curves; double-click opens one "
           "in the Training view"));

    loss_ = makePlot(tr("Training loss"), tr("step"), tr("loss"), this);
    top1_ = makePlot(tr("Test top-1"), tr("epoch"), tr("top-1 (%)"), this);
    lambda_ = makePlot(tr("Mask decay (mean lambda of the diluted blocks)"), tr("step"), tr("lambda"), this);
    lambda_->yAxis->setRange(-0.05, 1.05);
    for (auto* p : plots()) enableViewReset(p, [this] { redrawOverlay(); });

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Runs in:"), this));
    top->addWidget(root_, 1);
    top->addWidget(browse);
    top->addWidget(refreshBtn);
    auto* plotsRow = new QWidget(this);
    auto* pl = new QHBoxLayout(plotsRow);
    pl->setContentsMargins(0, 0, 0, 0);
    for (auto* p : plots()) pl->addWidget(p);
    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(table_);
    split->addWidget(plotsRow);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 2);
    auto* lay = new QVBoxLayout(this);
    lay->addLayout(top);
    lay->addWidget(summary_);
    lay->addWidget(split, 1);

    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Folder of runs"), root());
        if (!d.isEmpty()) setRoot(d);
    });
    connect(refreshBtn, &QPushButton::clicked, this, &RunsView::refresh);
    connect(root_, &QLineEdit::editingFinished, this, &RunsView::refresh);
    connect(table_, &QTableWidget::itemSelectionChanged, this, &RunsView::redrawOverlay);
    connect(table_, &QTableWidget::cellDoubleClicked, this,
            [this](int row, int) { emit openRunRequested(table_->item(row, ColName)->data(Qt::UserRole).toString()); });
    // Running runs change: while the panel is shown, re-read when a run folder's files changed
    // (a stat per folder, instead of parsing every metrics.jsonl every 3 s on the GUI thread).
    timer_.setInterval(3000);
    connect(&timer_, &QTimer::timeout, this, [this] {
        // Once a minute regardless: a run idle for 10 minutes turns from running to interrupted.
        if (isVisible() && (++ticks_ % 20 == 0 || diskState() != diskState_)) refresh();
    });
    timer_.start();
}

// QWidget's destructor hides the children after ours has run; the focused root field then emits
// editingFinished, which would call refresh() on members already destroyed.
RunsView::~RunsView() {
    timer_.stop();
    root_->disconnect(this);
    table_->disconnect(this);
}

QList<QCustomPlot*> RunsView::plots() const { return {loss_, top1_, lambda_}; }

void RunsView::setRoot(const QString& dir) {
    root_->setText(dir);
    refresh();
}

QString RunsView::root() const { return root_->text(); }

int RunsView::runCount() const { return table_->rowCount(); }

QStringList RunsView::selectedRuns() const {
    QStringList out;
    for (int r = 0; r < table_->rowCount(); ++r)
        if (table_->item(r, ColName)->isSelected()) out << table_->item(r, ColName)->data(Qt::UserRole).toString();
    return out;
}

void RunsView::selectRows(const std::function<bool(int row)>& want) {
    QItemSelection sel;
    for (int r = 0; r < table_->rowCount(); ++r)
        if (want(r)) sel.select(table_->model()->index(r, 0), table_->model()->index(r, ColCount - 1));
    table_->selectionModel()->select(sel, QItemSelectionModel::ClearAndSelect);
}

void RunsView::selectRuns(const QStringList& names) {
    selectRows([&](int r) { return names.contains(table_->item(r, ColName)->text()); });
}

QString RunsView::diskState() const {
    // Folders up to two levels under the root, with the size and time of their run files.
    QString state;
    auto add = [&state](const QString& dir) {
        for (const char* f : {"config.json", "metrics.jsonl"}) {
            const QFileInfo fi(QDir(dir).filePath(f));
            if (fi.exists())
                state += fi.filePath() + ':' + QString::number(fi.size()) + ':' +
                         QString::number(fi.lastModified().toMSecsSinceEpoch()) + '\n';
        }
    };
    const QDir root(root_->text());
    add(root.path());
    for (const auto& a : root.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        add(a.filePath());
        for (const auto& b : QDir(a.filePath()).entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot)) add(b.filePath());
    }
    return state;
}

void RunsView::refresh() {
    diskState_ = diskState();
    const QStringList keep = selectedRuns();
    const auto runs = train::listRuns(root().toStdString());
    const QSignalBlocker block(table_);
    table_->setSortingEnabled(false);
    table_->setRowCount(int(runs.size()));
    int finished = 0, running = 0;
    for (int r = 0; r < int(runs.size()); ++r) {
        const auto& s = runs[size_t(r)];
        finished += s.status == "finished";
        running += s.status == "running";
        auto* name = new QTableWidgetItem(QString::fromStdString(s.name));
        name->setData(Qt::UserRole, QString::fromStdString(s.path));
        name->setToolTip(QString::fromStdString(s.path));
        table_->setItem(r, ColName, name);
        auto* status = new QTableWidgetItem(QString::fromStdString(s.status));
        if (!s.message.empty()) status->setToolTip(QString::fromStdString(s.message));
        table_->setItem(r, ColStatus, status);
        table_->setItem(r, ColModel, new QTableWidgetItem(QString::fromStdString(s.model)));
        table_->setItem(r, ColBlocks, new NumberItem(double(s.blocks.size()), blocksText(s.blocks)));
        table_->setItem(r, ColSelector, new QTableWidgetItem(QString::fromStdString(s.selector)));
        table_->setItem(r, ColBest, new NumberItem(s.best_top1, pct(s.best_top1)));
        table_->setItem(r, ColFinal, new NumberItem(s.final_top1, pct(s.final_top1)));
        table_->setItem(r, ColEpochs, new NumberItem(s.epochs_done, QString("%1/%2").arg(s.epochs_done).arg(s.epochs)));
        const auto created = QDateTime::fromString(QString::fromStdString(s.created), Qt::ISODate).toLocalTime();
        table_->setItem(r, ColCreated,
                        new QTableWidgetItem(created.isValid() ? created.toString("yyyy-MM-dd HH:mm") : "-"));
    }
    selectRows([&](int r) { return keep.contains(table_->item(r, ColName)->data(Qt::UserRole).toString()); });
    table_->setSortingEnabled(true);
    summary_->setText(
        runs.empty() ? tr("No run folders under %1 yet: start a training run, or pick another folder.").arg(root())
                     : tr("%n run(s): %1 finished, %2 running. Select several to overlay them.", "", int(runs.size()))
                           .arg(finished)
                           .arg(running));
    redrawOverlay();
}

// The overlaid losses, smoothed as the Training view smooths them by default (TensorBoard's EMA).
constexpr double kOverlaySmoothing = 0.9;

void RunsView::redrawOverlay() {
    for (auto* p : plots()) {
        p->clearGraphs();
        p->clearItems();
        p->legend->setVisible(false);
    }
    int i = 0;
    for (int r = 0; r < table_->rowCount(); ++r) {
        if (!table_->item(r, ColName)->isSelected()) continue;
        const QString path = table_->item(r, ColName)->data(Qt::UserRole).toString();
        const QString label = table_->item(r, ColName)->text();
        const auto c = train::readRunCurves(path.toStdString());
        const QColor colour(seriesColor(i++));
        auto add = [&](QCustomPlot* p, const std::vector<double>& x, const std::vector<double>& y, bool points) {
            auto* g = p->addGraph();
            g->setName(label);
            g->setPen(QPen(colour, points ? 2 : 1.5));
            if (points) g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
            g->setData(QVector<double>(x.begin(), x.end()), QVector<double>(y.begin(), y.end()), true);
        };
        add(loss_, c.step, c.loss, false);  // raw, faint and out of the legend; its smoothed curve named
        QColor faint = colour;
        faint.setAlpha(60);
        auto* raw = loss_->graph(loss_->graphCount() - 1);
        raw->setPen(QPen(faint, 1));
        raw->removeFromLegend();
        auto* smooth = loss_->addGraph();
        smooth->setName(label);
        smooth->setPen(QPen(colour, 1.8));
        setSmoothed(raw, smooth, kOverlaySmoothing);
        add(top1_, c.epoch, c.top1, true);
        add(lambda_, c.step, c.lambda, false);
    }
    for (auto* p : plots()) {
        if (p->graphCount() > 0)
            showLegendBelow(p);  // (first time: moves it under the axes)
        else
            p->legend->setVisible(false);
        if (p->graphCount() == 0) {
            emptyStateText(p, runCount() ? tr("Select runs in the table\nto overlay them here") : tr("No runs yet"));
            p->xAxis->setRange(0, 1);
            if (p != lambda_) p->yAxis->setRange(0, 1);
            continue;
        }
        p->rescaleAxes();
        // One point (or all equal) gives a zero-width range: widen it around the data.
        for (auto* ax : {p->xAxis, p->yAxis}) {
            const auto rg = ax->range();
            if (rg.size() < 1e-9) ax->setRange(rg.center() - 1, rg.center() + 1);
        }
        p->yAxis->scaleRange(1.12, p->yAxis->range().center());  // points off the frame's edge
    }
    if (loss_->graphCount() > 0) {  // every run's loss after its first 5% of steps
        QCPRange fit = fittedRange(loss_->graph(0), 0.05, false);
        for (int g = 2; g < loss_->graphCount(); g += 2) fit.expand(fittedRange(loss_->graph(g), 0.05, false));
        loss_->yAxis->setRange(fit);
    }
    lambda_->yAxis->setRange(-0.05, 1.05);
    if (top1_->graphCount() > 0) {
        const auto rg = top1_->xAxis->range();
        top1_->xAxis->setRange(std::min(rg.lower, 1.0) - 0.5, std::max(rg.upper, 1.0) + 0.5);
    }
    for (auto* p : plots()) p->replot();
}

}  // namespace dilute::gui
