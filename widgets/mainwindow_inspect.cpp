// The Inspect view's wiring: its job (the Project panel's model, data and device), its result
// drawn as it comes and written like the CLI's, and the one block selection it shares with the
// Analysis and Training views.
#include <QDir>
#include <QFileInfo>
#include <QTabWidget>

#include "analysisview.h"
#include "inspectview.h"
#include "jobrunner.h"
#include "mainwindow.h"
#include "projectpanel.h"
#include "trainingview.h"

// LibTorch has members called slots(): hide Qt's keyword macro while its headers are read.
#undef slots
#include "inspect/job.h"
#define slots Q_SLOTS

namespace dilute::gui {

void MainWindow::startInspect(inspect::InspectOptions o) {
    static_cast<io::ModelRef&>(o) = project_->modelRef();
    o.data = project_->data().toStdString();
    o.device = project_->device().toStdString();
    lastError_.clear();
    startedFrom(inspect_);
    logLine(tr("inspect: %1, %2 images%3")
                .arg(project_->model())
                .arg(o.images)
                .arg(o.vs.empty() ? QString() : tr(", compared with %1").arg(QString::fromStdString(o.vs))));
    runner_->start(inspect::inspectJob(), o);
}

void MainWindow::connectInspect() {
    connect(inspect_, &InspectView::inspectRequested, this, &MainWindow::startInspect);
    // One selection in the project: a block clicked here is selected on the Analysis and Training
    // views too, and the other way round.
    connect(analysis_, &AnalysisView::selectionChanged, inspect_, &InspectView::setSelection);
    connect(inspect_, &InspectView::selectionChanged, this, [this](std::vector<int> blocks) {
        analysis_->setSelection(blocks);
        training_->setSelection(blocks);
    });
    connect(tabs_, &QTabWidget::currentChanged, this, [this](int i) {
        if (tabs_->widget(i) == inspect_) inspect_->setAnalysis(analysis_->result());
    });
    auto* w = runner_->worker();
    connect(w, &Worker::partial, inspect_, [this](const QVariant& v) {
        if (const auto* r = resultOf<inspect::InspectResult>(v)) inspect_->setResult(*r, true);
    });
    connect(w, &Worker::done, this, [this](const QVariant& v) {
        const auto* p = resultOf<inspect::InspectResult>(v);
        if (!p) return;
        const auto& r = *p;
        inspect_->setAnalysis(analysis_->result());
        inspect_->setResult(r);
        const QString root = QFileInfo(training_->runDir()).absolutePath();
        QString dir = QDir(root).filePath("inspect");
        for (int i = 2; QFileInfo::exists(QDir(dir).filePath("inspect.json")); ++i)
            dir = QDir(root).filePath("inspect-" + QString::number(i));
        try {
            inspect::writeInspect(dir.toStdString(), r, inspect_->options().overlays);
            logLine(
                tr("inspection done in %1 s: %2 images; written to %3 (inspect.json, inspect.safetensors, overlays/)")
                    .arg(r.seconds, 0, 'f', 1)
                    .arg(r.images.size())
                    .arg(dir));
        } catch (const std::exception& e) {
            logLine(tr("the inspection could not be written: %1").arg(QString::fromStdString(e.what())), true);
        }
    });
}

}  // namespace dilute::gui
