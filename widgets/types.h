#pragma once
// Plain value types that cross the worker thread boundary in queued signals (never tensors).
#include <QMetaType>
#include <QString>
#include <QStringList>
#include <QVector>

#include "analysis/results.h"
#include "experiment/study.h"
#include "inspect/results.h"
#include "train/events.h"

namespace dilute::gui {

/// What the export job hands back: the files written and the measured before/after figures.
struct ExportReport {
    QString pruned_path, torchscript_path, onnx_path, timm_dir;  // the last two "" when not written
    QVector<int> removed;
    double max_abs_diff = 0;
    double top1_full = -1, top1_pruned = -1;
    long long eval_images = 0;  // test images the top-1 figures rest on
    QString device;             // where it was measured
    int batch = 0;              // throughput batch
    QStringList notes;          // what the figures rest on that may surprise (bench::MeasureResult::notes)
    struct Side {
        long long params = 0;
        double gmac = 0, images_per_s = 0, latency_p50_ms = 0, latency_p95_ms = 0, peak_mb = 0;
    } full, pruned;
};

struct JobProgress {
    QString phase;
    long long done = 0, total = 0;
};

void registerMetaTypes();

}  // namespace dilute::gui

Q_DECLARE_METATYPE(dilute::analysis::AnalysisResult)
Q_DECLARE_METATYPE(dilute::train::StepEvent)
Q_DECLARE_METATYPE(dilute::train::EpochEvent)
Q_DECLARE_METATYPE(dilute::train::TrainSummary)
Q_DECLARE_METATYPE(dilute::gui::ExportReport)
Q_DECLARE_METATYPE(dilute::gui::JobProgress)
Q_DECLARE_METATYPE(dilute::experiment::StudyResult)
Q_DECLARE_METATYPE(dilute::inspect::InspectResult)
