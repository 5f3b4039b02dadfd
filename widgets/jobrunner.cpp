#include "jobrunner.h"

#include <QCoreApplication>
#include <QEventLoop>
#include <QTimer>

#include "util/error.h"
#include "util/runtime.h"

namespace dilute::gui {

void registerMetaTypes() {
    qRegisterMetaType<dilute::train::StepEvent>();
    qRegisterMetaType<dilute::train::EpochEvent>();
    qRegisterMetaType<dilute::gui::ExportReport>();
    qRegisterMetaType<dilute::gui::JobProgress>();
}

void Worker::guarded(const std::function<void()>& fn) {
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
