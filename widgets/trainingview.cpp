#include "trainingview.h"

#include <QComboBox>
#include <QDir>
#include <QDoubleSpinBox>
#include <QFile>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QSpinBox>
#include <QTextStream>
#include <QVBoxLayout>
#include <nlohmann/json.hpp>
#include <qcustomplot.h>

#include "plotutil.h"

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
    lambda_->legend->setVisible(true);
    lr_->yAxis->setNumberFormat("eb");
    lr_->yAxis->setNumberPrecision(1);

    epochs_ = new QSpinBox(this);
    epochs_->setRange(1, 1000);
    epochs_->setValue(3);
    batch_ = new QSpinBox(this);
    batch_->setRange(1, 4096);
    batch_->setValue(128);
    lr_box_ = new QDoubleSpinBox(this);
    lr_box_->setDecimals(5);
    lr_box_->setRange(1e-6, 1.0);
    lr_box_->setSingleStep(1e-4);
    lr_box_->setValue(1e-3);
    decayEnd_ = new QDoubleSpinBox(this);
    decayEnd_->setRange(-1, 1000);
    decayEnd_->setValue(-1);
    decayEnd_->setSpecialValueText("auto (3/4 of the run)");
    decayEnd_->setToolTip("Epoch at which lambda reaches 0; the epochs after it train the MLP-only form");
    decayShape_ = new QComboBox(this);
    decayShape_->addItems({"linear", "cosine"});
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
    open_->setToolTip("Redraw a finished or cancelled run from its metrics.jsonl");

    auto* form = new QFormLayout;
    form->addRow("Epochs", epochs_);
    form->addRow("Batch", batch_);
    form->addRow("Peak lr", lr_box_);
    form->addRow("Decay", decayShape_);
    form->addRow("Lambda = 0 at epoch", decayEnd_);
    form->addRow("Run folder", runDir_);
    auto* side = new QVBoxLayout;
    side->addLayout(form);
    side->addWidget(selLabel_);
    side->addWidget(start_);
    side->addWidget(baseline_);
    side->addWidget(cancel_);
    side->addWidget(resume_);
    side->addWidget(open_);
    side->addWidget(status_);
    side->addStretch(1);
    auto* sideBox = new QWidget(this);
    sideBox->setLayout(side);
    sideBox->setMaximumWidth(300);
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
        if (!loadRun(d, &err)) status_->setText(err);
    });
    timer_.setInterval(40);  // ~25 Hz
    connect(&timer_, &QTimer::timeout, this, &TrainingView::flush);
    timer_.start();
}

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

train::TrainOptions TrainingView::options() const {
    train::TrainOptions o;
    o.epochs = epochs_->value();
    o.batch = batch_->value();
    o.lr = lr_box_->value();
    o.warmup_epochs = std::min(1.0, o.epochs * 0.1);
    o.schedule.shape = decayShape_->currentText().toStdString();
    o.schedule.end = decayEnd_->value();
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

void TrainingView::clearPlots() {
    pending_ = {};
    for (auto* p : {loss_, top1_, lr_, speed_}) p->graph(0)->data()->clear();
    lambda_->clearGraphs();
    lambdaBlocks_.clear();
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
}

void TrainingView::addStep(const train::StepEvent& e) { pending_.steps.push_back(e); }
void TrainingView::addEpoch(const train::EpochEvent& e) { pending_.epochs.push_back(e); }

void TrainingView::flush() {
    if (pending_.steps.empty() && pending_.epochs.empty()) return;
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
        status_->setText(QString("epoch %1: test top-1 %2%, train loss %3")
                             .arg(e.epoch + 1)
                             .arg(e.test_top1, 0, 'f', 2)
                             .arg(e.train_loss, 0, 'f', 4));
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
    top1_->xAxis->setRange(0.5, std::max(1.5, top1_->xAxis->range().upper + 0.5));
    top1_->yAxis->scaleRange(1.2, top1_->yAxis->range().center());
    for (auto* p : plots()) p->replot(QCustomPlot::rpQueuedReplot);
}

bool TrainingView::loadRun(const QString& dir, QString* error) {
    QFile f(QDir(dir).filePath("metrics.jsonl"));
    if (!f.open(QIODevice::ReadOnly | QIODevice::Text)) {
        if (error) *error = f.fileName() + ": cannot open (" + f.errorString() + ")";
        return false;
    }
    clearPlots();
    setRunDir(dir);
    QTextStream in(&f);
    int bad = 0;
    while (!in.atEnd()) {
        const auto line = in.readLine().toStdString();
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded()) {
            ++bad;
            continue;
        }
        const std::string ev = j.value("event", "");
        if (ev == "step") {
            train::StepEvent e;
            e.step = j.value("step", 0LL);
            e.epoch = j.value("epoch", 0);
            e.loss = j.value("loss", 0.0);
            e.lr = j.value("lr", 0.0);
            e.images_per_s = j.value("images_per_s", 0.0);
            e.blocks = j.value("blocks", std::vector<int>{});
            e.lambdas = j.value("lambda", std::vector<double>{});
            addStep(e);
        } else if (ev == "epoch") {
            train::EpochEvent e;
            e.epoch = j.value("epoch", 0);
            e.train_loss = j.value("train_loss", 0.0);
            e.test_top1 = j.value("test_top1", 0.0);
            e.test_top5 = j.value("test_top5", 0.0);
            e.lambdas = j.value("lambda", std::vector<double>{});
            addEpoch(e);
        }
    }
    flush();
    if (bad && error) *error = QString("%1 damaged lines skipped").arg(bad);
    status_->setText(status_->text() + QString("\nreopened %1").arg(dir));
    return true;
}

}  // namespace dilute::gui
