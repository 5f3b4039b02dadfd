#pragma once
// Runs core jobs (util/job.h) on a worker QObject living in its own QThread: one generic adapter
// for every job. JobRunner::start(job, options) queues the job; the worker reports with signals
// carrying plain values (the result so far and the result in a QVariant holding the job's result
// type, read back with resultOf<T>); a CancelToken stops the job between steps.
#include <QObject>
#include <QThread>
#include <QVariant>

#include <atomic>
#include <functional>
#include <type_traits>

#include "types.h"
#include "util/job.h"

namespace dilute::gui {

class Worker : public QObject {
    Q_OBJECT
public:
    explicit Worker(CancelToken* cancel) : cancel_(cancel) {}
    /// LibTorch threads for the next jobs (0 = all cores); applied on the worker thread.
    void setThreads(int n) { threads_.store(n); }

    /// Runs `job` on this (the worker's) thread: progress, log lines, partial results and the
    /// result become the signals below; training's steps and epochs, step() and epoch().
    template <class J>
    void run(const J& job, const typename J::OptionsType& o) {
        guarded([&] {
            typename J::ObserverType obs;
            obs.progress = [this](const Progress& p) {
                Q_EMIT progress({QString::fromStdString(p.phase), p.done, p.total});
            };
            obs.log = [this](const std::string& s) { Q_EMIT log(QString::fromStdString(s)); };
            if constexpr (std::is_same_v<typename J::ObserverType, train::TrainObserver>) {
                obs.onStep = [this](const train::StepEvent& e) { Q_EMIT step(e); };
                obs.onEpoch = [this](const train::EpochEvent& e) { Q_EMIT epoch(e); };
            } else {
                obs.partial = [this](const auto& r) { Q_EMIT partial(QVariant::fromValue(r)); };
            }
            Q_EMIT done(QVariant::fromValue(job.run(o, obs, cancel_)));
        });
    }

Q_SIGNALS:
    void progress(dilute::gui::JobProgress p);
    void log(QString line);
    /// The job's result so far (drawn as it comes) and its result: a QVariant holding J::ResultType.
    void partial(QVariant result);
    void done(QVariant result);
    void step(dilute::train::StepEvent e);
    void epoch(dilute::train::EpochEvent e);
    void failed(QString message);
    void cancelled();
    void finished();

private:
    void guarded(const std::function<void()>& fn);
    CancelToken* cancel_;
    std::atomic<int> threads_{0};
};

/// The value a partial() or done() signal carries, or null when it holds another job's result.
template <class T>
const T* resultOf(const QVariant& v) {
    return v.metaType() == QMetaType::fromType<T>() ? static_cast<const T*>(v.constData()) : nullptr;
}

class JobRunner : public QObject {
    Q_OBJECT
public:
    explicit JobRunner(QObject* parent = nullptr);
    ~JobRunner() override;  // cancels a running job and waits for it

    bool busy() const { return busy_; }
    Worker* worker() const { return worker_; }
    /// Queues `job` (a declaration that lives as long as the program: evalJob() and the like).
    /// Throws Error when a job is already running.
    template <class J>
    void start(const J& job, const typename J::OptionsType& o) {
        begin();
        QMetaObject::invokeMethod(
            worker_, [w = worker_, j = &job, o] { w->run(*j, o); }, Qt::QueuedConnection);
    }
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
