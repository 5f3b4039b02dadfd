#include "trainingview.h"

#include "train/optiontable.h"

#include <qcustomplot.h>
#include <QCheckBox>
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
#include <QSlider>
#include <QSpinBox>
#include <QTextStream>
#include <QVBoxLayout>

#include <thread>

#include "optionform.h"
#include "plotutil.h"
#include "train/metrics.h"
#include "train/optiontable.h"
#include "util/files.h"

namespace dilute::gui {

TrainingView::TrainingView(QWidget* parent) : QWidget(parent) {
    buildPlots();
    showEmptyState(true);

    form_ = new OptionForm(train::trainOptionTable(), this);
    processes_ = new QSpinBox(this);
    processes_->setRange(1, 256);
    processes_->setValue(1);
    processes_->setToolTip(
        tr("Local processes for data-parallel CPU training (c10d/Gloo over 127.0.0.1, "
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
    open_->setToolTip(
        tr("Redraw a run from its metrics.jsonl; a run still being written (CLI, torchrun, "
           "a cluster job on a shared folder) is followed live"));

    auto* grid = new QGridLayout;
    grid->addWidget(loss_, 0, 0);
    grid->addWidget(top1_, 0, 1);
    grid->addWidget(lambda_, 0, 2);
    grid->addWidget(lr_, 1, 0);
    grid->addWidget(speed_, 1, 1);
    grid->addWidget(plotControls(), 1, 2);
    auto* top = new QHBoxLayout(this);
    top->addLayout(grid, 1);
    top->addWidget(sidePanel());

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

// The run folder, processes, the form generated from the train table, and the job's buttons.
QWidget* TrainingView::sidePanel() {
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
    side->addWidget(makeProgressLabel(this));
    side->addWidget(status_);
    auto* sideBox = new QWidget(this);
    sideBox->setLayout(side);
    sideBox->setMinimumWidth(300);
    sideBox->setMaximumWidth(360);
    return sideBox;
}

int TrainingView::processes() const { return processes_->value(); }
void TrainingView::setProcesses(int n) { processes_->setValue(n); }
QString TrainingView::statusText() const { return status_->text(); }
bool TrainingView::following() const { return follower_ && followTimer_.isActive(); }

QList<QCustomPlot*> TrainingView::plots() const { return {loss_, top1_, lambda_, lr_, speed_}; }

int TrainingView::pointCount(int i) const {
    auto* p = plots().at(i);
    if (p == loss_ || p == speed_) return p->graph(0)->dataCount();  // the raw points (graph 1 smooths them)
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
    const auto r = train::applyRecipe(
        o, model.model, [&](const train::OptionSpec& s) { return edited.contains(QString::fromStdString(s.name)); },
        processes_->value());
    recipe_ = QString::fromStdString(r.name);
    form_->load(o);
    form_->setToolTip(r.name == "none" ? QString()
                                       : tr("Defaults from the recipe %1: %2")
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

}  // namespace dilute::gui
