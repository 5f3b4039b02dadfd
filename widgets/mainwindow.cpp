#include "mainwindow.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QScrollArea>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

#include "analysisview.h"
#include "clijob.h"
#include "exportview.h"
#include "jobrunner.h"
#include "modelpanel.h"
#include "projectpanel.h"
#include "runsview.h"
#include "studyview.h"
#include "trainingview.h"
#include "util/runtime.h"

// LibTorch has members called slots(): hide Qt's keyword macro while its headers are read.
#undef slots
#include "analysis/job.h"
#include "train/trainer.h"
#define slots Q_SLOTS

namespace dilute::gui {

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
    setWindowTitle(tr("Dilute workbench"));
    setWindowIcon(QIcon(":/dilute/dilute.svg"));
    project_ = new ProjectPanel(this);
    analysis_ = new AnalysisView(this);
    training_ = new TrainingView(this);
    export_ = new ExportView(this);
    runner_ = new JobRunner(this);
    cli_ = new CliJob(this);
    tabs_ = new QTabWidget(this);
    tabs_->addTab(analysis_, tr("&Analysis"));
    tabs_->addTab(training_, tr("&Training"));
    tabs_->addTab(export_, tr("E&xport"));
    study_ = new StudyView(this);
    tabs_->addTab(study_, tr("&Study"));
    runs_ = new RunsView(this);
    tabs_->addTab(runs_, tr("&Runs"));
    setCentralWidget(tabs_);
    auto* dock = new QDockWidget(tr("Project"), this);
    dock->setObjectName("project");
    auto* scroll = new QScrollArea(this);  // the model's description can be long: the panel scrolls
    scroll->setWidget(project_);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setMinimumWidth(project_->minimumSizeHint().width() + 16);  // the panel's width, and a scroll bar
    dock->setWidget(scroll);
    dock->setFeatures(QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    addDockWidget(Qt::LeftDockWidgetArea, dock);
    log_ = new QPlainTextEdit(this);
    log_->setReadOnly(true);
    log_->setMaximumBlockCount(5000);
    auto* logDock = new QDockWidget(tr("Log"), this);
    logDock->setObjectName("log");
    logDock->setWidget(log_);
    addDockWidget(Qt::BottomDockWidgetArea, logDock);
    resizeDocks({logDock}, {90}, Qt::Vertical);

    progress_ = new QProgressBar(this);
    progress_->setMaximumWidth(260);
    progress_->setTextVisible(true);
    phase_ = new QLabel(tr("idle"), this);
    eta_ = new QLabel(this);
    cancel_ = new QPushButton(tr("Cancel"), this);
    cancel_->setShortcut(QKeySequence(Qt::Key_Escape));
    cancel_->setToolTip(tr("Stop the running job cleanly (Esc); a training job writes a checkpoint"));
    cancel_->setEnabled(false);
    statusBar()->addWidget(phase_, 1);
    statusBar()->addPermanentWidget(eta_);
    statusBar()->addPermanentWidget(progress_);
    statusBar()->addPermanentWidget(cancel_);

    auto* file = menuBar()->addMenu(tr("&File"));
    auto* openRun = file->addAction(tr("&Open run..."), this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Open run folder"), training_->runDir());
        if (!d.isEmpty()) this->openRun(d);
    });
    openRun->setShortcut(QKeySequence::Open);
    file->addAction(tr("Open &model..."), project_->modelPanel(), &ModelPanel::chooseFile)
        ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    file->addAction(tr("Open model &folder..."), project_->modelPanel(), &ModelPanel::chooseFolder);
    recent_ = file->addMenu(tr("Recent runs"));
    file->addSeparator();
    file->addAction(tr("&Quit"), this, &QWidget::close)->setShortcut(QKeySequence::Quit);

    connect(cancel_, &QPushButton::clicked, runner_, &JobRunner::cancel);
    connect(cancel_, &QPushButton::clicked, cli_, &CliJob::cancel);
    connect(cli_, &CliJob::line, this, [this](QString s) { logLine(s, s.contains("error")); });
    connect(cli_, &CliJob::finished, this, [this](int code, bool crashed) {
        training_->pollRun();
        setBusy(false);
        if (code == 0 && !crashed) {
            logLine(tr("training finished (%1)").arg(cliRunDir_));
            rememberRun(cliRunDir_);
            if (training_->selection().empty()) {
                project_->setModel(QDir(cliRunDir_).filePath("final.safetensors"));
                logLine(tr("the trained baseline is now the project's model"));
            } else {
                export_->setRun(cliRunDir_, trainModel_);
            }
        } else if (code == 130) {
            logLine(tr("job cancelled"));
        } else {
            lastError_ = tr("multi-process training failed (exit code %1); see the log").arg(code);
            logLine(lastError_, true);
            phase_->setText(lastError_);
        }
    });
    connect(runner_, &JobRunner::busyChanged, this, &MainWindow::setBusy);
    connect(project_, &ProjectPanel::threadsChanged, this, [this](int t) {
        dilute::setThreads(t);
        runner_->worker()->setThreads(t);
    });
    connect(analysis_, &AnalysisView::analysisRequested, this, &MainWindow::startAnalysis);
    connect(analysis_, &AnalysisView::selectionChanged, training_, &TrainingView::setSelection);
    connect(training_, &TrainingView::startRequested, this, &MainWindow::startTraining);
    connect(training_, &TrainingView::cancelRequested, runner_, &JobRunner::cancel);
    connect(training_, &TrainingView::cancelRequested, cli_, &CliJob::cancel);
    connect(training_, &TrainingView::resumeRequested, this, [this](QString dir) {
        training_->loadRun(dir);
        logLine(tr("resuming %1").arg(dir));
        runner_->startResume(dir);
    });
    connect(runs_, &RunsView::openRunRequested, this, &MainWindow::openRun);
    // The training form follows the project's model: its recipe fills what the user has not edited.
    connect(project_, &ProjectPanel::changed, this, [this] { training_->setModel(project_->modelRef()); });
    // The Runs panel lists the folder the Training view writes runs into.
    connect(tabs_, &QTabWidget::currentChanged, this, [this](int i) {
        if (tabs_->widget(i) != runs_) return;
        const QString parent = QFileInfo(training_->runDir()).absolutePath();
        if (runs_->root() != parent) runs_->setRoot(parent);
        else runs_->refresh();
    });
    connect(export_, &ExportView::exportRequested, this, &MainWindow::startExport);
    connect(study_, &StudyView::studyRequested, this, &MainWindow::startStudy);
    connect(study_, &StudyView::failed, this, [this](QString msg) {
        lastError_ = msg;
        logLine(msg, true);
    });
    wireWorker();
    loadSettings();
    training_->setModel(project_->modelRef());
    setMinimumSize(1024, 640);
    resize(1340, 760);
    project_->refreshPreview();
}

MainWindow::~MainWindow() = default;

void MainWindow::wireWorker() {
    auto* w = runner_->worker();
    connect(w, &Worker::progress, this, &MainWindow::onProgress);
    connect(w, &Worker::log, this, [this](QString s) { logLine(s); });
    connect(w, &Worker::analysisPartial, analysis_, [this](const analysis::AnalysisResult& r) {
        analysis_->setResult(r, /*partial=*/true);
    });
    connect(w, &Worker::analysisDone, this, [this](const analysis::AnalysisResult& r) {
        analysis_->setResult(r);
        logLine(tr("analysis done: %1 evaluations in %2 s").arg(r.evaluations).arg(r.seconds, 0, 'f', 1));
    });
    connect(w, &Worker::step, training_, &TrainingView::addStep);
    connect(w, &Worker::step, this, [this](const train::StepEvent& e) {
        onProgress({tr("training epoch %1").arg(e.epoch + 1), e.step, e.steps_total});
    });
    connect(w, &Worker::epoch, training_, &TrainingView::addEpoch);
    connect(w, &Worker::trainDone, this, [this](const train::TrainSummary& s) {
        const QString dir = QString::fromStdString(s.run_dir);
        logLine(tr("training finished: test top-1 %1%").arg(s.final_top1, 0, 'f', 2));
        rememberRun(dir);
        if (s.blocks.empty()) {
            // A baseline: it becomes the model to analyze and dilute next.
            project_->setModel(QDir(dir).filePath("final.safetensors"));
            logLine(tr("the trained baseline is now the project's model"));
        } else {
            export_->setRun(dir, trainModel_);
        }
    });
    connect(w, &Worker::exportDone, export_, &ExportView::setReport);
    connect(w, &Worker::studyPartial, study_, [this](const experiment::StudyResult& r) { study_->setResult(r, true); });
    connect(w, &Worker::studyDone, this, [this](const experiment::StudyResult& r) {
        study_->setResult(r);
        logLine(tr("study done in %1 s: %2/study.md").arg(r.seconds, 0, 'f', 0).arg(study_->folder()));
    });
    connect(w, &Worker::failed, this, [this](QString msg) {
        lastError_ = msg;
        logLine(msg, true);
        phase_->setText(tr("failed: %1").arg(msg.left(120)));
    });
    connect(w, &Worker::cancelled, this, [this] { logLine(tr("job cancelled")); });
}

void MainWindow::startAnalysis(analysis::AnalysisOptions o) {
    static_cast<io::ModelRef&>(o) = project_->modelRef();
    o.data = project_->data().toStdString();
    o.device = project_->device().toStdString();
    lastError_.clear();
    logLine(tr("analysis: %1, %2 K=%3, %4 calibration images")
                .arg(project_->model(), QString::fromStdString(o.selector))
                .arg(o.k)
                .arg(o.calib));
    runner_->startAnalysis(o);
}

void MainWindow::startExport() {
    auto o = export_->options();
    if (o.baseline.empty()) o.baseline = project_->model().toStdString();
    o.data = project_->data().toStdString();
    o.device = project_->device().toStdString();
    lastError_.clear();
    logLine(tr("export and measure: %1 on %2").arg(QString::fromStdString(o.run), project_->device()));
    runner_->startExport(o);
}

void MainWindow::startStudy(experiment::StudyOptions o) {
    static_cast<io::ModelRef&>(o) = project_->modelRef();
    o.data = project_->data().toStdString();
    o.device = project_->device().toStdString();
    // Never over another study: the next free name beside it, shown in the view.
    const QString wanted = QString::fromStdString(o.out_dir);
    QString dir = wanted;
    for (int i = 2; QFileInfo::exists(QDir(dir).filePath("study.json")); ++i) dir = wanted + "-" + QString::number(i);
    if (dir != wanted) {
        study_->setFolder(dir);
        logLine(tr("%1 holds a study; this study goes to %2").arg(wanted, dir));
    }
    o.out_dir = dir.toStdString();
    o.overwrite = false;
    lastError_.clear();
    logLine(tr("study: %1, K=%2, %3 random seeds, fine-tune epochs %4 -> %5")
                .arg(project_->model())
                .arg(o.k)
                .arg(o.seeds)
                .arg(o.finetune_epochs)
                .arg(dir));
    tabs_->setCurrentWidget(study_);
    runner_->startStudy(o);
}

void MainWindow::startTraining(train::TrainOptions o) {
    static_cast<io::ModelRef&>(o) = project_->modelRef();
    o.data = project_->data().toStdString();
    o.device = project_->device().toStdString();
    trainModel_ = project_->model();
    // Never into another run's folder: the next free name beside it, shown in the view.
    const std::string wanted = o.out_dir;
    o.out_dir = train::nextFreeRunDir(wanted);
    if (o.out_dir != wanted) {
        training_->setRunDir(QString::fromStdString(o.out_dir));
        logLine(tr("%1 holds a run; this run goes to %2").arg(QString::fromStdString(wanted), QString::fromStdString(o.out_dir)));
    }
    training_->clearPlots();
    lastError_.clear();
    logLine(QString("training %1 into %2").arg(project_->model(), QString::fromStdString(o.out_dir)));
    if (training_->processes() > 1) {
        startCliTraining(o, training_->processes());
        return;
    }
    runner_->startTraining(o);
}

void MainWindow::startCliTraining(const train::TrainOptions& o, int processes) {
    QString err;
    cliRunDir_ = QString::fromStdString(o.out_dir);
    if (!cli_->startTraining(QString::fromStdString(o.toJson()), processes, &err)) {
        lastError_ = err;
        logLine(err, true);
        return;
    }
    logLine(tr("data-parallel training on %1 local processes: %2 train --nproc %1")
                .arg(processes)
                .arg(CliJob::program()));
    setBusy(true);
    training_->loadRun(cliRunDir_, nullptr, /*starting=*/true);
}

void MainWindow::openRun(const QString& dir) {
    QString err;
    if (training_->loadRun(dir, &err)) {
        rememberRun(dir);
        tabs_->setCurrentWidget(training_);
        export_->setRun(dir, export_->baseline());
        if (QFile::exists(QDir(dir).filePath("analysis/analysis.json"))) {
            try {
                analysis_->setResult(analysis::readAnalysis(QDir(dir).filePath("analysis").toStdString()));
            } catch (const std::exception& e) {
                logLine(e.what(), true);
            }
        }
    }
    if (!err.isEmpty()) logLine(err, true);
}

void MainWindow::setBusy(bool busy) {
    cancel_->setEnabled(busy);
    analysis_->setBusy(busy);
    training_->setBusy(busy);
    export_->setBusy(busy);
    study_->setBusy(busy);
    if (busy) {
        clock_.start();
        phaseName_.clear();
        progress_->setValue(0);
        eta_->clear();
    } else {
        training_->flush();
        phase_->setText(lastError_.isEmpty() ? tr("idle") : phase_->text());
        progress_->setValue(progress_->maximum());
        eta_->clear();
    }
}

void MainWindow::onProgress(const JobProgress& p) {
    if (p.phase != phaseName_) {
        phaseName_ = p.phase;
        clock_.restart();
    }
    phase_->setText(p.phase);
    progress_->setMaximum(int(std::max<long long>(1, p.total)));
    progress_->setValue(int(std::min(p.done, p.total)));
    if (p.done > 0 && p.total > p.done) {
        const double left = clock_.elapsed() / 1000.0 / p.done * (p.total - p.done);
        eta_->setText(tr("ETA %1:%2").arg(int(left) / 60).arg(int(left) % 60, 2, 10, QChar('0')));
    } else {
        eta_->clear();
    }
}

void MainWindow::logLine(const QString& s, bool error) {
    log_->appendHtml(error ? "<span style='color:#b00'>" + s.toHtmlEscaped() + "</span>" : s.toHtmlEscaped());
}

void MainWindow::rememberRun(const QString& dir) {
    QSettings st;
    auto runs = st.value("recentRuns").toStringList();
    runs.removeAll(dir);
    runs.prepend(dir);
    while (runs.size() > 8) runs.removeLast();
    st.setValue("recentRuns", runs);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
    recent_->clear();
    for (const auto& r : QSettings().value("recentRuns").toStringList())
        recent_->addAction(r, this, [this, r] { openRun(r); });
    recent_->setEnabled(!recent_->isEmpty());
}

void MainWindow::loadSettings() {
    QSettings st;
    if (st.contains("model")) {
        io::ModelRef r;
        r.model = st.value("model").toString().toStdString();
        r.arch = st.value("modelArch").toString().toStdString();
        r.weights_key = st.value("modelWeightsKey").toString().toStdString();
        r.heads = st.value("modelHeads", 0).toInt();
        r.img_size = st.value("modelImgSize", 0).toInt();
        project_->modelPanel()->setRef(r);
    }
    if (st.contains("data")) project_->setData(st.value("data").toString());
    if (st.contains("runDir")) training_->setRunDir(st.value("runDir").toString());
    if (st.contains("geometry")) restoreGeometry(st.value("geometry").toByteArray());
    rebuildRecentMenu();
}

void MainWindow::saveSettings() {
    QSettings st;
    const auto r = project_->modelRef();
    st.setValue("model", project_->model());
    st.setValue("modelArch", QString::fromStdString(r.arch));
    st.setValue("modelWeightsKey", QString::fromStdString(r.weights_key));
    st.setValue("modelHeads", r.heads);
    st.setValue("modelImgSize", r.img_size);
    st.setValue("data", project_->data());
    st.setValue("runDir", training_->runDir());
    st.setValue("geometry", saveGeometry());
}

void MainWindow::closeEvent(QCloseEvent* e) {
    if (runner_->busy() || cli_->running()) {
        phase_->setText(tr("cancelling the running job..."));
        runner_->cancelAndWait();
        cli_->cancelAndWait();
    }
    saveSettings();
    e->accept();
}

}  // namespace dilute::gui
