// QtTest: the job runner is one generic adapter over the core's job shape (util/job.h). A toy
// job declared here, and nowhere else, runs through it as the real ones do: off the GUI thread,
// its progress, log lines, partial results and result as signals, its errors and cancellation.
#include <QSignalSpy>
#include <QThread>
#include <QtTest>

#include <atomic>
#include <string>
#include <vector>

#include "jobrunner.h"
#include "util/error.h"
#include "workbench_helpers.h"

using namespace dilute;
using namespace dilute::gui;

namespace {

// The toy job: counts to `steps`, one partial result per step; fails on request; stops when
// cancelled (after `wait_ms` a step).
struct ToyOptions {
    int steps = 3;
    int wait_ms = 0;
    std::string fail;
};
struct ToyResult {
    int counted = 0;
    std::vector<int> seen;
};
std::atomic<Qt::HANDLE> toyThread{nullptr};

const std::vector<OptionSpec<ToyOptions>>& toyTable() {
    static const std::vector<OptionSpec<ToyOptions>> t = [] {
        OptionSpec<ToyOptions> s{"steps", "--steps", "Steps", "How far to count", "Toy", 0, 1000};
        s.field = memberField(&ToyOptions::steps);
        return std::vector<OptionSpec<ToyOptions>>{s};
    }();
    return t;
}

ToyResult runToy(const ToyOptions& o, const JobObserver<ToyResult>& obs, const CancelToken* cancel) {
    toyThread = QThread::currentThreadId();
    if (!o.fail.empty()) throw Error(o.fail);
    ToyResult r;
    for (int i = 1; i <= o.steps; ++i) {
        if (cancel) cancel->throwIfCancelled();
        QThread::msleep(o.wait_ms);
        r.counted = i;
        r.seen.push_back(i);
        obs.progress({"count", i, o.steps});
        obs.partial(r);
    }
    obs.log("counted to " + std::to_string(r.counted));
    return r;
}

std::string toyJson(const ToyResult& r) { return "{\"counted\": " + std::to_string(r.counted) + "}"; }

const Job<ToyOptions, ToyResult>& toyJob() {
    static const Job<ToyOptions, ToyResult> job{"toy", "Counts", toyTable, runToy, toyJson};
    return job;
}

}  // namespace

class JobRunnerTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { testing::initWidgetTests(); }

    void aJobDeclaredOnceRunsOffTheGuiThreadAndReportsEverything() {
        JobRunner runner;
        QSignalSpy progress(runner.worker(), &Worker::progress), log(runner.worker(), &Worker::log),
            partial(runner.worker(), &Worker::partial), done(runner.worker(), &Worker::done),
            failed(runner.worker(), &Worker::failed);
        toyThread = nullptr;
        runner.start(toyJob(), {4, 0, ""});
        QVERIFY(runner.busy());
        QTRY_VERIFY_WITH_TIMEOUT(!runner.busy(), 10000);
        QVERIFY(failed.isEmpty());
        QVERIFY(toyThread.load() != nullptr);
        QVERIFY(toyThread.load() != QThread::currentThreadId());
        QCOMPARE(progress.count(), 4);
        const auto last = progress.last().at(0).value<JobProgress>();
        QCOMPARE(last.phase, QString("count"));
        QCOMPARE(last.done, 4LL);
        QCOMPARE(last.total, 4LL);
        QCOMPARE(partial.count(), 4);
        const QVariant second = partial.at(1).at(0);
        QVERIFY(resultOf<ToyResult>(second));
        QCOMPARE(resultOf<ToyResult>(second)->seen, (std::vector<int>{1, 2}));
        QCOMPARE(log.count(), 1);
        QCOMPARE(log.first().at(0).toString(), QString("counted to 4"));
        QCOMPARE(done.count(), 1);
        const QVariant result = done.first().at(0);
        QVERIFY(!resultOf<JobProgress>(result));  // another type reads as none
        QVERIFY(resultOf<ToyResult>(result));
        QCOMPARE(resultOf<ToyResult>(result)->counted, 4);
    }

    void anErrorIsOneFailedSignalWithItsMessageAndNoResult() {
        JobRunner runner;
        QSignalSpy done(runner.worker(), &Worker::done), failed(runner.worker(), &Worker::failed),
            finished(runner.worker(), &Worker::finished);
        runner.start(toyJob(), {3, 0, "toy.bin: not a toy"});
        QTRY_VERIFY_WITH_TIMEOUT(!runner.busy(), 10000);
        QCOMPARE(failed.count(), 1);
        QCOMPARE(failed.first().at(0).toString(), QString("toy.bin: not a toy"));
        QCOMPARE(done.count(), 0);
        QCOMPARE(finished.count(), 1);
        // The runner takes the next job.
        runner.start(toyJob(), {1, 0, ""});
        QTRY_VERIFY_WITH_TIMEOUT(!runner.busy(), 10000);
        QCOMPARE(done.count(), 1);
    }

    void cancelStopsBetweenStepsAndOneJobRunsAtATime() {
        JobRunner runner;
        QSignalSpy done(runner.worker(), &Worker::done), cancelled(runner.worker(), &Worker::cancelled),
            partial(runner.worker(), &Worker::partial);
        runner.start(toyJob(), {1000, 20, ""});
        QVERIFY_EXCEPTION_THROWN(runner.start(toyJob(), {1, 0, ""}), Error);
        QTRY_VERIFY_WITH_TIMEOUT(partial.count() >= 2, 10000);
        runner.cancel();
        QTRY_VERIFY_WITH_TIMEOUT(!runner.busy(), 10000);
        QCOMPARE(cancelled.count(), 1);
        QCOMPARE(done.count(), 0);
        QVERIFY(partial.count() < 100);
    }
};

QTEST_MAIN(JobRunnerTest)
#include "test_jobrunner.moc"
