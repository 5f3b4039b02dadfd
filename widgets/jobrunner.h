#pragma once
// Runs core jobs on a worker QObject living in its own QThread. Jobs start through queued
// calls and answer with signals carrying plain values; a CancelToken stops them between steps.
#include <QObject>
#include <QThread>

#include <atomic>
#include <memory>

#include "analysis/options.h"
#include "bench/options.h"
#include "experiment/study.h"
#include "inspect/options.h"
#include "train/options.h"
#include "types.h"

namespace dilute::gui {

class Worker : public QObject {
    Q_OBJECT
public:
    explicit Worker(CancelToken* cancel) : cancel_(cancel) {}
    /// LibTorch threads for the next jobs (0 = all cores); applied on the worker thread.
    void setThreads(int n) { threads_.store(n); }

public Q_SLOTS:
    void analyze(dilute::analysis::AnalysisOptions o);
    void train(dilute::train::TrainOptions o);
    void resume(QString runDir);
    void exportAndBench(const bench::MeasureOptions& o);
    void study(dilute::experiment::StudyOptions o);
    void inspect(dilute::inspect::InspectOptions o);

Q_SIGNALS:
    void progress(dilute::gui::JobProgress p);
    void log(QString line);
    void analysisDone(dilute::analysis::AnalysisResult r);
    /// The analysis so far (profile, then T, then each NOSE round), drawn as it comes.
    void analysisPartial(dilute::analysis::AnalysisResult r);
    void step(dilute::train::StepEvent e);
    void epoch(dilute::train::EpochEvent e);
    void trainDone(dilute::train::TrainSummary s);
    void exportDone(dilute::gui::ExportReport r);
    /// The study so far (arms, then the sweep, then each fine-tuned arm), and when done.
    void studyPartial(dilute::experiment::StudyResult r);
    void studyDone(dilute::experiment::StudyResult r);
    /// The inspection so far (after each batch of images), and when done.
    void inspectPartial(dilute::inspect::InspectResult r);
    void inspectDone(dilute::inspect::InspectResult r);
    void failed(QString message);
    void cancelled();
    void finished();

private:
    template <typename Fn>
    void guarded(Fn&& fn);
    CancelToken* cancel_;
    std::atomic<int> threads_{0};
};

class JobRunner : public QObject {
    Q_OBJECT
public:
    explicit JobRunner(QObject* parent = nullptr);
    ~JobRunner() override;  // cancels a running job and waits for it

    bool busy() const { return busy_; }
    Worker* worker() const { return worker_; }
    void startAnalysis(const analysis::AnalysisOptions& o);
    void startTraining(const train::TrainOptions& o);
    void startResume(const QString& runDir);
    void startExport(const bench::MeasureOptions& o);
    void startStudy(const experiment::StudyOptions& o);
    void startInspect(const inspect::InspectOptions& o);
    void cancel();
    /// Cancels and blocks until the worker has returned (used when the window closes).
    void cancelAndWait(int timeoutMs = 60000);

Q_SIGNALS:
    void busyChanged(bool busy);

private:
    void begin();
    QThread thread_;
    Worker* worker_;
    CancelToken cancel_;
    bool busy_ = false;
};

}  // namespace dilute::gui
