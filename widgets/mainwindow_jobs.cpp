// The workbench's job starts: each view's request completed with the Project panel's model
// (io::ModelRef), data and device, then handed to the job runner (or, for several processes,
// to `dilute train --nproc`, whose lines and end the window follows).
#include "mainwindow.h"

#include <QDir>

#include <QFileInfo>
#include <QLabel>
#include <QPushButton>
#include <algorithm>

#include "analysisview.h"
#include "clijob.h"
#include "exportview.h"
#include "jobrunner.h"
#include "projectpanel.h"
#include "studyview.h"
#include "trainingview.h"

// LibTorch has members called slots(): hide Qt's keyword macro while its headers are read.
#undef slots
#include "analysis/job.h"
#include "bench/measure.h"
#include "experiment/study.h"
#include "train/job.h"
#include "train/runfolder.h"
#include "train/trainer.h"
#define slots Q_SLOTS

namespace dilute::gui {

void MainWindow::startAnalysis(analysis::AnalysisOptions o) {
    static_cast<io::ModelRef&>(o) = project_->modelRef();
    o.data = project_->data().toStdString();
    o.device = project_->device().toStdString();
    lastError_.clear();
    startedFrom(analysis_);
    logLine(tr("analysis: %1, %2 K=%3, %4 calibration images")
                .arg(project_->model(), QString::fromStdString(o.selector))
                .arg(o.k)
                .arg(o.calib));
    runner_->start(analysis::analysisJob(), o);
}

// A finished analysis is written like the CLI's (`analysis.json` in the next free
// `analysis[-N]` folder beside the runs), so a training started from its selection records the
// selector and calibration (startTraining passes the file), and the Runs view and `study` see them.
void MainWindow::analysisFinished(const analysis::AnalysisResult& r) {
    analysis_->setResult(r);
    logLine(tr("analysis done: %1 evaluations in %2 s").arg(r.evaluations).arg(r.seconds, 0, 'f', 1));
    const QString root = QFileInfo(training_->runDir()).absolutePath();
    QString dir = QDir(root).filePath("analysis");
    for (int i = 2; QFileInfo::exists(QDir(dir).filePath("analysis.json")); ++i)
        dir = QDir(root).filePath("analysis-" + QString::number(i));
    try {
        analysis::writeAnalysis(dir.toStdString(), r);
        analysisPath_ = QDir(dir).filePath("analysis.json");
        logLine(tr("analysis written to %1").arg(analysisPath_));
    } catch (const std::exception& e) {
        analysisPath_.clear();
        logLine(tr("the analysis could not be written: %1").arg(QString::fromStdString(e.what())), true);
    }
}

void MainWindow::startExport() {
    auto o = export_->options();
    if (o.baseline.empty()) o.baseline = project_->model().toStdString();
    o.data = project_->data().toStdString();
    o.device = project_->device().toStdString();
    lastError_.clear();
    startedFrom(export_);
    logLine(tr("export and measure: %1 on %2").arg(QString::fromStdString(o.run), project_->device()));
    runner_->start(bench::measureJob(), o);
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
    startedFrom(study_);
    logLine(tr("study: %1, K=%2, %3 random seeds, fine-tune epochs %4 -> %5")
                .arg(project_->model())
                .arg(o.k)
                .arg(o.seeds)
                .arg(o.finetune_epochs)
                .arg(dir));
    tabs_->setCurrentWidget(study_);
    runner_->start(experiment::studyJob(), o);
}

void MainWindow::startTraining(train::TrainOptions o) {
    static_cast<io::ModelRef&>(o) = project_->modelRef();
    // The blocks the shown analysis selected: the run takes them from its file, with the selector
    // and calibration it records (a hand-made selection stays a list of blocks, "manual").
    std::vector<int> chosen = training_->selection(), analysed = analysis_->result().selection.blocks;
    std::sort(chosen.begin(), chosen.end());
    std::sort(analysed.begin(), analysed.end());
    if (!analysisPath_.isEmpty() && !chosen.empty() && chosen == analysed) o.select = analysisPath_.toStdString();
    o.data = project_->data().toStdString();
    o.device = project_->device().toStdString();
    trainModel_ = project_->model();
    // Never into another run's folder: the next free name beside it, shown in the view.
    const std::string wanted = o.out_dir;
    o.out_dir = train::nextFreeRunDir(wanted);
    if (o.out_dir != wanted) {
        training_->setRunDir(QString::fromStdString(o.out_dir));
        logLine(tr("%1 holds a run; this run goes to %2")
                    .arg(QString::fromStdString(wanted), QString::fromStdString(o.out_dir)));
    }
    training_->clearPlots();
    lastError_.clear();
    startedFrom(training_);
    logLine(QString("training %1 into %2").arg(project_->model(), QString::fromStdString(o.out_dir)));
    if (training_->processes() > 1) {
        startCliTraining(o, training_->processes());
        return;
    }
    runner_->start(train::trainJob(), o);
}

void MainWindow::startCliTraining(const train::TrainOptions& o, int processes) {
    QString err;
    cliRunDir_ = QString::fromStdString(o.out_dir);
    if (!cli_->startTraining(QString::fromStdString(o.toJson()), processes, &err)) {
        lastError_ = err;
        logLine(err, true);
        return;
    }
    logLine(
        tr("data-parallel training on %1 local processes: %2 train --nproc %1").arg(processes).arg(CliJob::program()));
    setBusy(true);
    training_->loadRun(cliRunDir_, nullptr, /*starting=*/true);
}

// Cancel and the multi-process training's CLI job: its lines go to the log, its end to the views.
void MainWindow::connectCliJob() {
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
}

}  // namespace dilute::gui
