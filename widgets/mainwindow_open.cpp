// Opening what people have: File -> Open folder... / Open analysis... / Open study..., drag and
// drop, and the command line all go through MainWindow::openPath, which looks at what a path
// holds and hands it to the view that shows it.
#include "mainwindow.h"

#include <QDir>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFile>
#include <QFileInfo>
#include <QLabel>
#include <QMimeData>
#include <QTabWidget>

#include "analysisview.h"
#include "exportview.h"
#include "projectpanel.h"
#include "runsview.h"
#include "studyview.h"
#include "trainingview.h"

// LibTorch has members called slots(): hide Qt's keyword macro while its headers are read.
#undef slots
#include "analysis/job.h"
#define slots Q_SLOTS

namespace dilute::gui {

namespace {

bool has(const QDir& d, const QString& name) { return QFileInfo::exists(d.filePath(name)); }
bool isRun(const QDir& d) { return has(d, "config.json") && has(d, "metrics.jsonl"); }

}  // namespace

PathKind classifyPath(const QString& path) {
    const QFileInfo fi(path);
    if (!fi.exists()) return PathKind::Unknown;
    if (fi.isFile()) {
        const QString name = fi.fileName();
        if (name == "analysis.json") return PathKind::Analysis;
        if (name == "study.json") return PathKind::Study;
        if (name == "config.json" || name == "metrics.jsonl") return isRun(fi.dir()) ? PathKind::Run : PathKind::Model;
        return PathKind::Model;  // .safetensors, .pth, .pt, .bin: the model panel says what it is
    }
    const QDir d(path);
    if (has(d, "study.json")) return PathKind::Study;
    if (has(d, "summary.json") && has(d, "baseline") && has(d, "analysis")) return PathKind::Demo;
    if (isRun(d)) return PathKind::Run;
    if (has(d, "analysis.json")) return PathKind::Analysis;
    if (has(d, "config.json") && (has(d, "model.safetensors") || has(d, "pytorch_model.bin"))) return PathKind::Model;
    for (const auto& sub : d.entryList(QDir::Dirs | QDir::NoDotAndDotDot))
        if (isRun(QDir(d.filePath(sub)))) return PathKind::RunsRoot;
    return PathKind::Unknown;
}

bool MainWindow::openPath(const QString& path, QString* error) {
    const QFileInfo fi(path);
    const QString dir = fi.isDir() ? fi.absoluteFilePath() : fi.absolutePath();
    try {
        switch (classifyPath(path)) {
            case PathKind::Model:
                project_->setModel(fi.absoluteFilePath());
                logLine(tr("model: %1").arg(fi.absoluteFilePath()));
                return true;
            case PathKind::Run: openRun(dir); return true;
            case PathKind::Analysis:
                analysis_->setResult(analysis::readAnalysis(path.toStdString()));
                analysisPath_ = fi.isDir() ? QDir(path).filePath("analysis.json") : fi.absoluteFilePath();
                tabs_->setCurrentWidget(analysis_);
                logLine(tr("analysis: %1").arg(path));
                return true;
            case PathKind::Study:
                if (!study_->openStudy(dir, error)) return false;
                tabs_->setCurrentWidget(study_);
                return true;
            case PathKind::Demo: openDemo(dir); return true;
            case PathKind::RunsRoot:
                runs_->setRoot(dir);
                tabs_->setCurrentWidget(runs_);
                return true;
            case PathKind::Unknown: break;
        }
    } catch (const std::exception& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
    if (error) *error = tr("%1: not a model, run, analysis, study, demo folder or folder of runs").arg(path);
    return false;
}

// A demo folder as a whole: its trained baseline is the project's model, its analysis in the
// Analysis view, its runs (baseline, control, nose, random) in the Runs view, the NOSE run in
// the Training view.
void MainWindow::openDemo(const QString& dir) {
    const QDir d(dir);
    if (QFileInfo::exists(d.filePath("baseline/final.safetensors")))
        project_->setModel(d.filePath("baseline/final.safetensors"));
    analysis_->setResult(analysis::readAnalysis(d.filePath("analysis").toStdString()));
    analysisPath_ = d.filePath("analysis/analysis.json");
    if (isRun(QDir(d.filePath("nose")))) openRun(d.filePath("nose"));
    runs_->setRoot(dir);
    tabs_->setCurrentWidget(runs_);
    logLine(tr("demo: %1 (model, analysis, runs)").arg(dir));
}

void MainWindow::openWithMessage(const QString& path) {
    QString err;
    if (!openPath(path, &err)) {
        lastError_ = err;
        logLine(err, true);
        phase_->setText(err);
    }
}

void MainWindow::dragEnterEvent(QDragEnterEvent* e) {
    if (e->mimeData()->hasUrls()) e->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* e) {
    for (const auto& url : e->mimeData()->urls())
        if (url.isLocalFile()) openWithMessage(url.toLocalFile());
    e->acceptProposedAction();
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

}  // namespace dilute::gui
