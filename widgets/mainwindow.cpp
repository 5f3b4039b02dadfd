#include "mainwindow.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDir>
#include <QDockWidget>
#include <QFileDialog>
#include <QFileInfo>
#include <QLabel>
#include <QMenuBar>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QStatusBar>
#include <QTabWidget>

#include "analysisview.h"
#include "clijob.h"
#include "exportview.h"
#include "inspectview.h"
#include "jobrunner.h"
#include "jobview.h"
#include "modelpanel.h"
#include "optionform.h"
#include "projectpanel.h"
#include "runsview.h"
#include "studyview.h"
#include "train/job.h"
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
    setAcceptDrops(true);  // a dropped file or folder opens as File -> Open would (openPath)
    project_ = new ProjectPanel(this);
    analysis_ = new AnalysisView(this);
    training_ = new TrainingView(this);
    export_ = new ExportView(this);
    inspect_ = new InspectView(this);
    runner_ = new JobRunner(this);
    cli_ = new CliJob(this);
    tabs_ = new QTabWidget(this);
    tabs_->addTab(analysis_, tr("&Analysis"));
    tabs_->addTab(inspect_, tr("&Inspect"));
    tabs_->addTab(training_, tr("&Training"));
    tabs_->addTab(export_, tr("E&xport"));
    study_ = new StudyView(this);
    tabs_->addTab(study_, tr("&Study"));
    runs_ = new RunsView(this);
    tabs_->addTab(runs_, tr("&Runs"));
    setCentralWidget(tabs_);
    buildDocks();
    buildStatusBar();
    buildMenus();
    connectViews();
    connectInspect();
    wireWorker();
    loadSettings();
    training_->setModel(project_->modelRef());
    setMinimumSize(1024, 640);
    resize(1340, 760);
    project_->refreshPreview();
}

MainWindow::~MainWindow() = default;

// The Project panel (scrolling: the model's description can be long) and the log, docked.
void MainWindow::buildDocks() {
    auto* dock = new QDockWidget(tr("Project"), this);
    dock->setObjectName("project");
    auto* scroll = scrollingPanel(project_, this);  // the model's description can be long: the panel scrolls
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
}

void MainWindow::buildStatusBar() {
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
}

void MainWindow::buildMenus() {
    auto* file = menuBar()->addMenu(tr("&File"));
    auto* openRun = file->addAction(tr("&Open run..."), this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Open run folder"), training_->runDir());
        if (!d.isEmpty()) this->openRun(d);
    });
    openRun->setShortcut(QKeySequence::Open);
    file->addAction(tr("Open &model..."), project_->modelPanel(), &ModelPanel::chooseFile)
        ->setShortcut(QKeySequence(Qt::CTRL | Qt::Key_M));
    file->addAction(tr("Open model &folder..."), project_->modelPanel(), &ModelPanel::chooseFolder);
    file->addAction(tr("Open &analysis..."), this, [this] {
        const QString f =
            QFileDialog::getOpenFileName(this, tr("Open analysis"), QString(), tr("analysis.json (analysis.json)"));
        if (!f.isEmpty()) openWithMessage(f);
    });
    file->addAction(tr("Open &study..."), this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Open study folder"));
        if (!d.isEmpty()) openWithMessage(d);
    });
    file->addAction(tr("Open any fol&der..."), this, [this] {
        const QString d =
            QFileDialog::getExistingDirectory(this, tr("Open a run, study, analysis, demo or folder of runs"));
        if (!d.isEmpty()) openWithMessage(d);
    });
    recent_ = file->addMenu(tr("Recent runs"));
    file->addSeparator();
    file->addAction(tr("&Quit"), this, &QWidget::close)->setShortcut(QKeySequence::Quit);
}

void MainWindow::connectViews() {
    connectCliJob();
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
        startedFrom(training_);
        training_->loadRun(dir);
        logLine(tr("resuming %1").arg(dir));
        runner_->start(train::resumeJob(), {dir.toStdString()});
    });
    connect(runs_, &RunsView::openRunRequested, this, &MainWindow::openRun);
    // The training form follows the project's model: its recipe fills what the user has not edited.
    connect(project_, &ProjectPanel::changed, this, [this] { training_->setModel(project_->modelRef()); });
    // The Runs panel lists the folder the Training view writes runs into.
    connect(tabs_, &QTabWidget::currentChanged, this, [this](int i) {
        if (tabs_->widget(i) != runs_) return;
        const QString parent = QFileInfo(training_->runDir()).absolutePath();
        if (runs_->root() != parent)
            runs_->setRoot(parent);
        else
            runs_->refresh();
    });
    connect(export_, &ExportView::exportRequested, this, &MainWindow::startExport);
    connect(study_, &StudyView::studyRequested, this, &MainWindow::startStudy);
    connect(study_, &StudyView::failed, this, [this](QString msg) {
        lastError_ = msg;
        logLine(msg, true);
    });
}

void MainWindow::setBusy(bool busy) {
    cancel_->setEnabled(busy);
    analysis_->setBusy(busy);
    training_->setBusy(busy);
    export_->setBusy(busy);
    inspect_->setBusy(busy);
    study_->setBusy(busy);
    if (busy) {
        clock_.start();
        phaseName_.clear();
        progress_->setValue(0);
        eta_->clear();
    } else {
        if (jobView_) jobView_->setProgressText(QString());  // the log says what the job wrote
        jobView_ = nullptr;
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
    if (jobView_)  // the same line where the user started the job
        jobView_->setProgressText(tr("%1: %2% (%3 of %4)%5")
                                      .arg(p.phase)
                                      .arg(p.total > 0 ? 100 * std::min(p.done, p.total) / p.total : 0)
                                      .arg(p.done)
                                      .arg(p.total)
                                      .arg(eta_->text().isEmpty() ? QString() : ", " + eta_->text()));
}

void MainWindow::startedFrom(JobView* view) {
    if (jobView_ && jobView_ != view) jobView_->setProgressText(QString());
    jobView_ = view;
    if (jobView_) jobView_->setProgressText(tr("starting..."));
}

void MainWindow::logLine(const QString& s, bool error) {
    log_->appendHtml(error ? "<span style='color:#b00'>" + s.toHtmlEscaped() + "</span>" : s.toHtmlEscaped());
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
