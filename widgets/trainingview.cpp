#include "trainingview.h"

#include "train/optiontable.h"

#include <QComboBox>
#include <QDateTime>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSpinBox>
#include <QTextStream>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <thread>

#include "optionform.h"
#include "plotutil.h"
#include "train/metrics.h"
#include "util/files.h"
#include "train/optiontable.h"

namespace dilute::gui {

TrainingView::TrainingView(QWidget* parent) : QWidget(parent) {
    loss_ = makePlot("Training loss", "step", "loss", this);
    top1_ = makePlot("Test top-1", "epoch", "top-1 (%)", this);
    lambda_ = makePlot("Mask decay (lambda per block)", "step", "lambda", this);
    lr_ = makePlot("Learning rate", "step", "lr", this);
    speed_ = makePlot("Throughput", "step", "images/s", this);
    loss_->addGraph()->setPen(QPen(QColor(seriesColor(0)), 1.5));
    top1_->addGraph()->setPen(QPen(QColor(seriesColor(2)), 2));
    top1_->graph(0)->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 7));
    lr_->addGraph()->setPen(QPen(QColor(seriesColor(4)), 1.5));
    speed_->addGraph()->setPen(QPen(QColor(seriesColor(5)), 1));
    // Live plots redraw several times a second while training shares the CPU: draw lines
    // without antialiasing and fast polylines (text stays antialiased).
    for (auto* p : plots()) {
        p->setNotAntialiasedElements(QCP::aePlottables | QCP::aeGrid | QCP::aeSubGrid | QCP::aeAxes);
        p->setPlottingHint(QCP::phFastPolylines, true);
    }
    lambda_->yAxis->setRange(-0.05, 1.05);
    QSharedPointer<QCPAxisTickerFixed> epochTicks(new QCPAxisTickerFixed);
    epochTicks->setTickStep(1.0);
    epochTicks->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    top1_->xAxis->setTicker(epochTicks);
    top1_->xAxis->setRange(0.5, 1.5);
    top1_->yAxis->setRange(0, 100);
    lr_->yAxis->setNumberFormat("eb");
    lr_->yAxis->setNumberPrecision(1);
    showEmptyState(true);

    form_ = new OptionForm(train::trainOptionTable(), this);
    processes_ = new QSpinBox(this);
    processes_->setRange(1, 256);
    processes_->setValue(1);
    processes_->setToolTip(tr("Local processes for data-parallel CPU training (c10d/Gloo over 127.0.0.1, "
                              "the CLI's --nproc). 1 trains inside the workbench; more run 'dilute train --nproc N' "
                              "and follow its metrics.jsonl live. The cores are shared out between them."));
    runDir_ = new QLineEdit(QDir::home().filePath("dilute-runs/run"), this);
    runDir_->setToolTip("Run folder: config.json, metrics.jsonl, checkpoints/, final.safetensors");
    selLabel_ = new QLabel("Dilute blocks: none (select on the Analysis view)", this);
    selLabel_->setWordWrap(true);
    status_ = new QLabel(this);
    status_->setWordWrap(true);
    start_ = new QPushButton("Start dilution training", this);
    start_->setShortcut(QKeySequence("Ctrl+T"));
    start_->setToolTip("Fine-tune with dilution of the selected blocks (Ctrl+T)");
    baseline_ = new QPushButton("Train baseline (no dilution)", this);
    cancel_ = new QPushButton("Cancel", this);
    cancel_->setEnabled(false);
    resume_ = new QPushButton("Resume run", this);
    resume_->setToolTip("Continue the run folder from its last checkpoint");
    open_ = new QPushButton("Open run...", this);
    open_->setToolTip(tr("Redraw a run from its metrics.jsonl; a run still being written (CLI, torchrun, "
                         "a cluster job on a shared folder) is followed live"));

    auto* form = new QFormLayout;
    form->addRow(tr("Run folder"), runDir_);
    form->addRow(tr("Processes"), processes_);
    // More processes, a larger global batch: the recipe's lr follows it (unless edited).
    connect(processes_, &QSpinBox::valueChanged, this, [this] {
        if (!model_.model.empty()) setModel(model_);
    });
    auto* scroll = scrollingPanel(form_, this);
    auto* side = new QVBoxLayout;
    side->addLayout(form);
    side->addWidget(scroll, 1);
    side->addWidget(selLabel_);
    side->addWidget(start_);
    side->addWidget(baseline_);
    side->addWidget(cancel_);
    side->addWidget(resume_);
    side->addWidget(open_);
    side->addWidget(status_);
    auto* sideBox = new QWidget(this);
    sideBox->setLayout(side);
    sideBox->setMinimumWidth(300);
    sideBox->setMaximumWidth(360);
    auto* grid = new QGridLayout;
    grid->addWidget(loss_, 0, 0);
    grid->addWidget(top1_, 0, 1);
    grid->addWidget(lambda_, 0, 2);
    grid->addWidget(lr_, 1, 0);
    grid->addWidget(speed_, 1, 1);
    auto* top = new QHBoxLayout(this);
    top->addLayout(grid, 1);
    top->addWidget(sideBox);

    connect(start_, &QPushButton::clicked, this, [this] { Q_EMIT startRequested(options()); });
    connect(baseline_, &QPushButton::clicked, this, [this] {
        auto o = options();
        o.select.clear();
        Q_EMIT startRequested(o);
    });
    connect(cancel_, &QPushButton::clicked, this, &TrainingView::cancelRequested);
    connect(resume_, &QPushButton::clicked, this, [this] { Q_EMIT resumeRequested(runDir()); });
    connect(open_, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, "Open run folder", runDir());
        if (d.isEmpty()) return;
        QString err;
        if (!loadRun(d, &err)) setStatus(err);
    });
    timer_.setInterval(40);  // ~25 Hz
    connect(&timer_, &QTimer::timeout, this, &TrainingView::flush);
    timer_.start();
    followTimer_.setInterval(500);
    connect(&followTimer_, &QTimer::timeout, this, &TrainingView::pollRun);
}

TrainingView::~TrainingView() = default;

int TrainingView::processes() const { return processes_->value(); }
void TrainingView::setProcesses(int n) { processes_->setValue(n); }
QString TrainingView::statusText() const { return status_->text(); }
bool TrainingView::following() const { return follower_ && followTimer_.isActive(); }


QList<QCustomPlot*> TrainingView::plots() const { return {loss_, top1_, lambda_, lr_, speed_}; }

int TrainingView::pointCount(int i) const {
    auto* p = plots().at(i);
    int n = 0;
    for (int g = 0; g < p->graphCount(); ++g) n += p->graph(g)->dataCount();
    return n;
}

void TrainingView::setSelection(const std::vector<int>& blocks) {
    selection_ = blocks;
    QStringList s;
    for (int b : blocks) s << QString::number(b);
    selLabel_->setText(blocks.empty() ? "Dilute blocks: none (select on the Analysis view)"
                                      : "Dilute blocks: " + s.join(", "));
}

void TrainingView::setModel(const QString& model) {
    io::ModelRef r;
    r.model = model.toStdString();
    setModel(r);
}

void TrainingView::setModel(const io::ModelRef& model) {
    // The recipe of the model for every option the user has not edited (the CLI does the same),
    // its lr scaled to the global batch (batch x processes).
    model_ = model;
    train::TrainOptions o;
    form_->store(o);
    static_cast<io::ModelRef&>(o) = model;
    const auto edited = form_->edited();
    const auto r = train::applyRecipe(o, model.model,
                                      [&](const train::OptionSpec& s) { return edited.contains(QString::fromStdString(s.name)); },
                                      processes_->value());
    recipe_ = QString::fromStdString(r.name);
    form_->load(o);
    form_->setToolTip(r.name == "none" ? QString() : tr("Defaults from the recipe %1: %2")
                                                         .arg(QString::fromStdString(r.name), QString::fromStdString(r.source)));
}

train::TrainOptions TrainingView::options() const {
    train::TrainOptions o;
    form_->store(o);
    o.recipe = recipe_.toStdString();
    o.out_dir = runDir().toStdString();
    QStringList s;
    for (int b : selection_) s << QString::number(b);
    o.select = s.join(",").toStdString();
    return o;
}

void TrainingView::setRunDir(const QString& dir) { runDir_->setText(dir); }
QString TrainingView::runDir() const { return runDir_->text(); }

void TrainingView::setBusy(bool busy) {
    start_->setEnabled(!busy);
    baseline_->setEnabled(!busy);
    resume_->setEnabled(!busy);
    open_->setEnabled(!busy);
    cancel_->setEnabled(busy);
}

void TrainingView::showEmptyState(bool empty) {
    for (auto* p : plots()) {
        p->clearItems();
        if (empty) emptyStateText(p, tr("No run yet: start training,\nor open a run folder"));
    }
}

void TrainingView::clearPlots() {
    pending_ = {};
    showEmptyState(true);
    epochLine_.clear();
    for (auto* p : {loss_, top1_, lr_, speed_}) p->graph(0)->data()->clear();
    lambda_->clearGraphs();
    lambdaBlocks_.clear();
    top1_->xAxis->setRange(0.5, 1.5);
    top1_->yAxis->setRange(0, 100);
    for (auto* p : plots()) p->replot();
}

void TrainingView::ensureLambdaGraphs(const std::vector<int>& blocks) {
    if (blocks == lambdaBlocks_) return;
    lambda_->clearGraphs();
    lambdaBlocks_ = blocks;
    for (size_t i = 0; i < blocks.size(); ++i) {
        auto* g = lambda_->addGraph();
        g->setName(QString("block %1").arg(blocks[i]));
        g->setPen(QPen(QColor(seriesColor(int(i) + 1)), 2));
    }
    if (!blocks.empty()) showLegendBelow(lambda_);  // moved under the axes the first time
    else lambda_->legend->setVisible(false);
}

void TrainingView::addStep(const train::StepEvent& e) { pending_.steps.push_back(e); }
void TrainingView::addEpoch(const train::EpochEvent& e) { pending_.epochs.push_back(e); }

void TrainingView::flush() {
    if (pending_.steps.empty() && pending_.epochs.empty()) return;
    if (loss_->itemCount() > 0) showEmptyState(false);  // the first points of a run
    for (const auto& e : pending_.steps) {
        const double x = double(e.step);
        loss_->graph(0)->addData(x, e.loss);
        lr_->graph(0)->addData(x, e.lr);
        speed_->graph(0)->addData(x, e.images_per_s);
        ensureLambdaGraphs(e.blocks);
        for (size_t i = 0; i < e.lambdas.size() && int(i) < lambda_->graphCount(); ++i)
            lambda_->graph(int(i))->addData(x, e.lambdas[i]);
    }
    for (const auto& e : pending_.epochs) {
        top1_->graph(0)->addData(e.epoch + 1, e.test_top1);
        epochLine_ = tr("epoch %1: test top-1 %2%, train loss %3")
                         .arg(e.epoch + 1)
                         .arg(e.test_top1, 0, 'f', 2)
                         .arg(e.train_loss, 0, 'f', 4);
        updateStatus();
    }
    pending_ = {};
    dirty_ = true;
    if (isVisible()) redraw();
}

void TrainingView::showEvent(QShowEvent* e) {
    QWidget::showEvent(e);
    if (dirty_) redraw();
}

void TrainingView::redraw() {
    dirty_ = false;
    for (auto* p : {loss_, top1_, lr_, speed_}) p->rescaleAxes();
    lambda_->xAxis->rescale();
    // With 0 or 1 epoch points rescaling has no span to fit: show a readable window instead.
    const int epochsDrawn = top1_->graph(0)->dataCount();
    if (epochsDrawn == 0) {
        top1_->xAxis->setRange(0.5, 1.5);
        top1_->yAxis->setRange(0, 100);
    } else if (epochsDrawn == 1) {
        const double v = top1_->graph(0)->data()->begin()->value;
        top1_->xAxis->setRange(0.5, 1.5);
        top1_->yAxis->setRange(std::max(0.0, v - 10), std::min(100.0, v + 10));
    } else {
        top1_->xAxis->setRange(0.5, top1_->xAxis->range().upper + 0.5);
        top1_->yAxis->scaleRange(1.2, top1_->yAxis->range().center());
    }
    for (auto* p : plots()) p->replot(QCustomPlot::rpQueuedReplot);
}

}  // namespace dilute::gui
