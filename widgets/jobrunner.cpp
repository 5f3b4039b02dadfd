#include "jobrunner.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QTimer>

#include "util/error.h"
#include "util/files.h"
#include "util/runtime.h"

// LibTorch has members called slots(): hide Qt's keyword macro while its headers are read.
#undef slots
#include "analysis/job.h"
#include "bench/bench.h"
#include "bench/measure.h"
#include "data/loader.h"
#include "inspect/job.h"
#include "io/export.h"
#include "io/weights.h"
#include "train/evaluate.h"
#include "train/trainer.h"
#define slots Q_SLOTS

namespace dilute::gui {

void registerMetaTypes() {
    qRegisterMetaType<dilute::analysis::AnalysisResult>();
    qRegisterMetaType<dilute::analysis::AnalysisOptions>("dilute::analysis::AnalysisOptions");
    qRegisterMetaType<dilute::train::TrainOptions>("dilute::train::TrainOptions");
    qRegisterMetaType<dilute::train::StepEvent>();
    qRegisterMetaType<dilute::train::EpochEvent>();
    qRegisterMetaType<dilute::train::TrainSummary>();
    qRegisterMetaType<dilute::gui::ExportReport>();
    qRegisterMetaType<dilute::gui::JobProgress>();
    qRegisterMetaType<dilute::experiment::StudyResult>();
    qRegisterMetaType<dilute::experiment::StudyOptions>("dilute::experiment::StudyOptions");
    qRegisterMetaType<dilute::inspect::InspectResult>();
    qRegisterMetaType<dilute::inspect::InspectOptions>("dilute::inspect::InspectOptions");
}

template <typename Fn>
void Worker::guarded(Fn&& fn) {
    // OpenMP thread counts are per calling thread: set them on this worker thread, or LibTorch
    // runs its ops here with a team sized by defaults (measured: 73-80% of the CLI's speed).
    dilute::setThreads(threads_.load());
    try {
        fn();
    } catch (const Cancelled&) {
        Q_EMIT cancelled();
    } catch (const std::exception& e) {
        Q_EMIT failed(QString::fromStdString(e.what()));
    }
    Q_EMIT finished();
}

void Worker::analyze(analysis::AnalysisOptions o) {
    guarded([&] {
        analysis::AnalysisObserver obs;
        obs.progress = [this](const Progress& p) {
            Q_EMIT progress({QString::fromStdString(p.phase), p.done, p.total});
        };
        obs.log = [this](const std::string& s) { Q_EMIT log(QString::fromStdString(s)); };
        obs.partial = [this](const analysis::AnalysisResult& r) { Q_EMIT analysisPartial(r); };
        Q_EMIT analysisDone(analysis::runAnalysis(o, obs, cancel_));
    });
}

static train::TrainObserver observerFor(Worker* w) {
    train::TrainObserver obs;
    obs.onStep = [w](const train::StepEvent& e) { Q_EMIT w->step(e); };
    obs.onEpoch = [w](const train::EpochEvent& e) { Q_EMIT w->epoch(e); };
    obs.onLog = [w](const std::string& s) { Q_EMIT w->log(QString::fromStdString(s)); };
    obs.onProgress = [w](const Progress& p) { Q_EMIT w->progress({QString::fromStdString(p.phase), p.done, p.total}); };
    return obs;
}

void Worker::train(train::TrainOptions o) {
    guarded([&] { Q_EMIT trainDone(train::train(o, observerFor(this), cancel_)); });
}

void Worker::resume(QString runDir) {
    guarded([&] { Q_EMIT trainDone(train::resume(runDir.toStdString(), observerFor(this), cancel_)); });
}

void Worker::study(experiment::StudyOptions o) {
    guarded([&] {
        experiment::StudyObserver obs;
        obs.progress = [this](const Progress& p) {
            Q_EMIT progress({QString::fromStdString(p.phase), p.done, p.total});
        };
        obs.log = [this](const std::string& s) { Q_EMIT log(QString::fromStdString(s)); };
        obs.partial = [this](const experiment::StudyResult& r) { Q_EMIT studyPartial(r); };
        Q_EMIT studyDone(experiment::runStudy(o, obs, cancel_));
    });
}

void Worker::inspect(inspect::InspectOptions o) {
    guarded([&] {
        inspect::InspectObserver obs;
        obs.progress = [this](const Progress& p) {
            Q_EMIT progress({QString::fromStdString(p.phase), p.done, p.total});
        };
        obs.log = [this](const std::string& s) { Q_EMIT log(QString::fromStdString(s)); };
        obs.partial = [this](const inspect::InspectResult& r) { Q_EMIT inspectPartial(r); };
        Q_EMIT inspectDone(inspect::runInspect(o, obs, cancel_));
    });
}

void Worker::exportAndBench(const bench::MeasureOptions& mo) {
    guarded([&] {
        // The core job the demo uses too, on the project's device.
        const auto m = bench::exportAndMeasure(
            mo,
            [this](const Progress& p) {
                Q_EMIT progress({QString::fromStdString(p.phase), p.done, p.total});
            },
            cancel_);
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
        rep.device = QString::fromStdString(m.device);
        rep.batch = mo.bench.batch;
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
        Q_EMIT exportDone(rep);
    });
}

JobRunner::JobRunner(QObject* parent) : QObject(parent), worker_(new Worker(&cancel_)) {
    registerMetaTypes();
    worker_->moveToThread(&thread_);
    connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
    connect(worker_, &Worker::finished, this, [this] {
        busy_ = false;
        Q_EMIT busyChanged(false);
    });
    thread_.start();
}

JobRunner::~JobRunner() {
    cancelAndWait();
    thread_.quit();
    thread_.wait();
}

void JobRunner::begin() {
    if (busy_) throw Error("a job is already running");
    cancel_.reset();
    busy_ = true;
    Q_EMIT busyChanged(true);
}

void JobRunner::startAnalysis(const analysis::AnalysisOptions& o) {
    begin();
    // Functor form: a renamed or re-typed slot is a compile error, not a silent no-op at run time.
    QMetaObject::invokeMethod(
        worker_, [w = worker_, o] { w->analyze(o); }, Qt::QueuedConnection);
}

void JobRunner::startTraining(const train::TrainOptions& o) {
    begin();
    QMetaObject::invokeMethod(
        worker_, [w = worker_, o] { w->train(o); }, Qt::QueuedConnection);
}

void JobRunner::startResume(const QString& runDir) {
    begin();
    QMetaObject::invokeMethod(
        worker_, [w = worker_, runDir] { w->resume(runDir); }, Qt::QueuedConnection);
}

void JobRunner::startExport(const bench::MeasureOptions& o) {
    begin();
    QMetaObject::invokeMethod(
        worker_, [w = worker_, o] { w->exportAndBench(o); }, Qt::QueuedConnection);
}

void JobRunner::startStudy(const experiment::StudyOptions& o) {
    begin();
    QMetaObject::invokeMethod(
        worker_, [w = worker_, o] { w->study(o); }, Qt::QueuedConnection);
}

void JobRunner::startInspect(const inspect::InspectOptions& o) {
    begin();
    QMetaObject::invokeMethod(
        worker_, [w = worker_, o] { w->inspect(o); }, Qt::QueuedConnection);
}

void JobRunner::cancel() { cancel_.cancel(); }

void JobRunner::cancelAndWait(int timeoutMs) {
    if (!busy_) return;
    cancel_.cancel();
    QEventLoop loop;
    auto c = connect(worker_, &Worker::finished, &loop, &QEventLoop::quit, Qt::QueuedConnection);
    QTimer::singleShot(timeoutMs, &loop, &QEventLoop::quit);
    if (busy_) loop.exec();
    disconnect(c);
}

}  // namespace dilute::gui
