// QtTest, offscreen: The Training view following a run folder (widgets/trainingview_run.cpp): a growing metrics.jsonl
// redrawn live.
#include <qcustomplot.h>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QVBoxLayout>
#include <QtTest>

#include "analysis/optiontable.h"
#include "analysisview.h"
#include "bench/optiontable.h"
#include "clijob.h"
#include "experiment/optiontable.h"
#include "exportview.h"
#include "jobrunner.h"
#include "mainwindow.h"
#include "optionform.h"
#include "projectpanel.h"
#include "runsview.h"
#include "studyview.h"
#include "train/optiontable.h"
#include "trainingview.h"
#include "util/runtime.h"
#include "workbench_helpers.h"

// LibTorch has members called slots(): hide Qt's keyword macro while its headers are read.
#undef slots
#include "analysis/job.h"
#define slots Q_SLOTS

using namespace dilute;
using namespace dilute::gui;

using namespace dilute::gui::testing;

class TrainingViewRunTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { initWidgetTests(); }

    void openRunFollowsAGrowingMetricsFile() {
        // A run written by another process (CLI, torchrun, a cluster on a shared folder).
        QTemporaryDir tmp;
        const QString dir = tmp.filePath("live");
        QDir().mkpath(dir);
        QFile f(QDir(dir).filePath("metrics.jsonl"));
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Append));
        auto step = [&](int s) {
            f.write(
                QString(
                    R"({"event":"step","step":%1,"epoch":0,"loss":%2,"lr":0.001,"images_per_s":100,"blocks":[2],"lambda":[%3]})"
                    "\n")
                    .arg(s)
                    .arg(2.0 - 0.1 * s)
                    .arg(1.0 - 0.1 * s)
                    .toUtf8());
            f.flush();
        };
        step(1);
        step(2);
        TrainingView v;
        v.show();
        for (auto* p : v.plots()) QCOMPARE(p->itemCount(), 1);  // the empty-state message, before any run
        QString err;
        QVERIFY2(v.loadRun(dir, &err), qPrintable(err));
        QCOMPARE(v.pointCount(0), 2);
        for (auto* p : v.plots()) QCOMPARE(p->itemCount(), 0);  // gone with the first points
        QVERIFY(v.following());
        QVERIFY(v.statusText().contains("live"));
        step(3);
        step(4);
        f.write(
            R"({"event":"epoch","epoch":0,"step":4,"train_loss":1.7,"test_top1":55.5,"test_top5":90,"test_loss":1.2})"
            "\n");
        f.write(R"({"event":"step","step":5,)");  // half a line: waits for the rest
        f.flush();
        QTRY_COMPARE_WITH_TIMEOUT(v.pointCount(0), 4, 5000);  // the follow timer picked it up
        QCOMPARE(v.pointCount(1), 1);
        QCOMPARE(v.pointCount(2), 4);
        // One epoch point: a readable window around it, not QCustomPlot's +-1e37 of a zero span.
        const auto y = v.plots().at(1)->yAxis->range();
        QVERIFY2(y.lower >= 0 && y.upper <= 100 && y.size() <= 20.001 && y.contains(55.5),
                 qPrintable(QString("%1..%2").arg(y.lower).arg(y.upper)));
        f.write(R"("epoch":0,"loss":1.5,"lr":0.001,"images_per_s":100,"blocks":[2],"lambda":[0.5]})"
                "\n");
        f.write(R"({"event":"end","status":"finished","step":5})"
                "\n");
        f.flush();
        QTRY_VERIFY_WITH_TIMEOUT(!v.following(), 5000);
        QCOMPARE(v.pointCount(0), 5);
        QVERIFY2(v.statusText().contains("finished"), qPrintable(v.statusText()));
        QVERIFY(v.statusText().contains("55.50%"));
        // A resumed run rewrites the file shorter: the view starts over instead of mixing.
        QString again;
        QVERIFY(v.loadRun(dir, &again));
        QCOMPARE(v.pointCount(0), 5);
        // Not a run folder: a clear error.
        QVERIFY(!v.loadRun(tmp.filePath("nothing"), &err));
        QVERIFY(err.contains("not a run folder"));
    }
};

QTEST_MAIN(TrainingViewRunTest)
#include "test_trainingview_run.moc"
