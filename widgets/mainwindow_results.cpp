// What the workbench does with each job's reports: the runner's generic signals (progress, log,
// the result so far, the result) routed by the result's type to the view that draws it.
#include <QDir>
#include <QFileInfo>
#include <QLabel>

#include "analysisview.h"
#include "exportview.h"
#include "jobrunner.h"
#include "mainwindow.h"
#include "projectpanel.h"
#include "studyview.h"
#include "trainingview.h"

// LibTorch has members called slots(): hide Qt's keyword macro while its headers are read.
#undef slots
#include "bench/measure.h"
#define slots Q_SLOTS

namespace dilute::gui {

namespace {

// The Export view's plain-value copy of the measure job's result.
ExportReport reportOf(const bench::MeasureResult& m) {
    ExportReport rep;
    rep.pruned_path = QString::fromStdString(m.pruned_path);
    rep.torchscript_path = QString::fromStdString(m.torchscript_path);
    rep.onnx_path = QString::fromStdString(m.onnx_path);
    rep.timm_dir = QString::fromStdString(m.timm_dir);
    for (int b : m.exported.removed) rep.removed.push_back(b);
    rep.max_abs_diff = m.exported.max_abs_diff;
    if (m.top1_full >= 0) rep.top1_full = m.top1_full;
    if (m.top1_pruned >= 0) rep.top1_pruned = m.top1_pruned;
    rep.eval_images = static_cast<long long>(m.eval_images);
    rep.device = QString::fromStdString(m.device + ", " + m.full.precision);
    rep.batch = m.options.bench.batch;
    for (const auto& n : m.notes) rep.notes << QString::fromStdString(n);
    auto side = [](const bench::BenchResult& r) {
        ExportReport::Side s;
        s.params = r.params;
        s.gmac = r.gmac;
        s.images_per_s = r.images_per_s;
        s.latency_p50_ms = r.latency_p50_ms;
        s.latency_p95_ms = r.latency_p95_ms;
        s.peak_mb = r.peak_mb;
        return s;
    };
    rep.full = side(m.full);
    rep.pruned = side(m.pruned);
    return rep;
}

}  // namespace

void MainWindow::wireWorker() {
    auto* w = runner_->worker();
    connect(w, &Worker::progress, this, &MainWindow::onProgress);
    connect(w, &Worker::log, this, [this](QString s) { logLine(s); });
    connect(w, &Worker::partial, this, [this](const QVariant& v) {
        if (const auto* r = resultOf<analysis::AnalysisResult>(v)) analysis_->setResult(*r, /*partial=*/true);
        if (const auto* r = resultOf<experiment::StudyResult>(v)) study_->setResult(*r, true);
    });
    connect(w, &Worker::done, this, [this](const QVariant& v) {
        if (const auto* r = resultOf<analysis::AnalysisResult>(v)) analysisFinished(*r);
        if (const auto* s = resultOf<train::TrainSummary>(v)) trainingFinished(*s);
        if (const auto* m = resultOf<bench::MeasureResult>(v)) export_->setReport(reportOf(*m));
        if (const auto* r = resultOf<experiment::StudyResult>(v)) {
            study_->setResult(*r);
            logLine(tr("study done in %1 s: %2/study.md").arg(r->seconds, 0, 'f', 0).arg(study_->folder()));
        }
    });
    connect(w, &Worker::step, training_, &TrainingView::addStep);
    connect(w, &Worker::step, this, [this](const train::StepEvent& e) {
        onProgress({tr("training epoch %1").arg(e.epoch + 1), e.step, e.steps_total});
    });
    connect(w, &Worker::epoch, training_, &TrainingView::addEpoch);
    connect(w, &Worker::failed, this, [this](QString msg) {
        lastError_ = msg;
        logLine(msg, true);
        phase_->setText(tr("failed: %1").arg(msg.left(120)));
    });
    connect(w, &Worker::cancelled, this, [this] { logLine(tr("job cancelled")); });
}

void MainWindow::trainingFinished(const train::TrainSummary& s) {
    const QString dir = QString::fromStdString(s.run_dir);
    logLine(tr("training finished: test top-1 %1%; wrote %2 (final.safetensors, metrics.jsonl, config.json, "
               "checkpoints/)")
                .arg(s.final_top1, 0, 'f', 2)
                .arg(dir));
    rememberRun(dir);
    if (s.blocks.empty()) {
        // A baseline: it becomes the model to analyze and dilute next.
        project_->setModel(QDir(dir).filePath("final.safetensors"));
        logLine(tr("the trained baseline is now the project's model"));
    } else {
        export_->setRun(dir, trainModel_);
    }
}

}  // namespace dilute::gui
