// QtTest, offscreen: the workbench opens what people have (widgets/mainwindow_open.cpp): a
// model, a run, an analysis, a study, a demo folder as a whole and a folder of runs, from
// File -> Open, a dropped path or the command line alike (MainWindow::openPath).
#include <QDir>
#include <QFile>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

#include "analysisview.h"
#include "clijob.h"
#include "jobrunner.h"
#include "mainwindow.h"
#include "modelpanel.h"
#include "projectpanel.h"
#include "runsview.h"
#include "studyview.h"
#include "trainingview.h"
#include "workbench_helpers.h"

#undef slots
#include "analysis/job.h"
#include "experiment/study.h"
#include "train/job.h"
#define slots Q_SLOTS

using namespace dilute;
using namespace dilute::gui;
using namespace dilute::gui::testing;

class OpenTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void everyKindOpensWhereItIsShown() {
        QTemporaryDir tmp;
        const QString golden = QString(DILUTE_SOURCE_DIR) + "/tests/data/golden/";
        // A demo folder: baseline, analysis, runs and its summary.
        const QString demo = tmp.filePath("demo");
        writeFakeRun(demo + "/baseline", "none", {}, {80, 84}, "finished");
        QFile(demo + "/baseline/final.safetensors").open(QIODevice::WriteOnly);
        writeFakeRun(demo + "/nose", "nose", {4, 5}, {83, 85}, "finished");
        writeFakeRun(demo + "/control", "manual", {}, {84, 86}, "finished");
        analysis::writeAnalysis((demo + "/analysis").toStdString(), fakeResult());
        QFile sum(demo + "/summary.json");
        QVERIFY(sum.open(QIODevice::WriteOnly));
        sum.write("{}");
        sum.close();
        experiment::StudyResult sr;
        sr.model = "m.safetensors";
        sr.depth = 6;
        sr.k = 2;
        experiment::writeStudy(tmp.filePath("study").toStdString(), sr);

        QCOMPARE(classifyPath(demo), PathKind::Demo);
        QCOMPARE(classifyPath(demo + "/nose"), PathKind::Run);
        QCOMPARE(classifyPath(demo + "/analysis"), PathKind::Analysis);
        QCOMPARE(classifyPath(demo + "/analysis/analysis.json"), PathKind::Analysis);
        QCOMPARE(classifyPath(tmp.filePath("study")), PathKind::Study);
        QCOMPARE(classifyPath(golden + "hf_vit"), PathKind::Model);
        QCOMPARE(classifyPath(golden + "plain.pth"), PathKind::Model);
        QCOMPARE(classifyPath(tmp.path()), PathKind::Unknown);
        QCOMPARE(classifyPath(tmp.filePath("nothing-here")), PathKind::Unknown);

        MainWindow w;
        QString err;
        QVERIFY2(w.openPath(golden + "plain.pth", &err), qPrintable(err));
        QCOMPARE(w.projectPanel()->model(), golden + "plain.pth");
        QVERIFY2(w.openPath(demo + "/analysis", &err), qPrintable(err));
        QCOMPARE(w.analysisView()->result().profile.depth, 6);
        QVERIFY2(w.openPath(tmp.filePath("study"), &err), qPrintable(err));
        QCOMPARE(w.tabs()->currentWidget(), static_cast<QWidget*>(w.studyView()));
        // The demo as a whole: its baseline is the model, its analysis shown, its runs listed.
        QVERIFY2(w.openPath(demo, &err), qPrintable(err));
        QCOMPARE(w.projectPanel()->model(), QDir(demo).filePath("baseline/final.safetensors"));
        QCOMPARE(w.runsView()->root(), demo);
        QTRY_COMPARE(w.runsView()->runCount(), 3);
        QCOMPARE(w.trainingView()->runDir(), QDir(demo).filePath("nose"));
        QCOMPARE(w.trainingView()->options().epochs, 2);  // the opened run's config.json, not the recipe's 10
        // A folder of runs.
        writeFakeRun(tmp.filePath("runs/a"), "nose", {1}, {70}, "finished");
        writeFakeRun(tmp.filePath("runs/b"), "random", {2}, {69}, "finished");
        QCOMPARE(classifyPath(tmp.filePath("runs")), PathKind::RunsRoot);
        QVERIFY2(w.openPath(tmp.filePath("runs"), &err), qPrintable(err));
        QCOMPARE(w.runsView()->root(), tmp.filePath("runs"));
        QTRY_COMPARE(w.runsView()->runCount(), 2);
        QVERIFY(!w.openPath(tmp.path(), &err));
        QVERIFY2(err.contains("not a model, run, analysis, study"), qPrintable(err));
        QVERIFY(w.acceptDrops());
    }

    // A training killed (kill -9) at any moment leaves a folder the workbench opens, lists and
    // resumes to its end: killed right after it started (config.json only) and at each point of
    // its first checkpoint write (DILUTE_CRASH_POINT, io/checkpoint.cpp).
    void aRunKilledAtAnyMomentOpensAndResumes() {
        if (!haveFashion()) QSKIP("dataset-fashion-mnist not installed");
        if (CliJob::program().isEmpty()) QSKIP("the dilute CLI is not built");
        QTemporaryDir tmp;
        const QStringList train = {"train",
                                   "-m",
                                   "vit_nano_patch7_28",
                                   "--epochs",
                                   "2",
                                   "--train-limit",
                                   "256",
                                   "--test-limit",
                                   "128",
                                   "--batch",
                                   "64",
                                   "--select",
                                   "2",
                                   "--workers",
                                   "1",
                                   "-o"};
        const QStringList points = {"start", "set-partial:1", "set-written:1", "pointer-written:1"};
        MainWindow w;
        for (const QString& point : points) {
            const QString dir = tmp.filePath("runs/" + QString(point).replace(':', '-'));
            QProcess p;
            auto env = QProcessEnvironment::systemEnvironment();
            if (point != "start") env.insert("DILUTE_CRASH_POINT", point);
            p.setProcessEnvironment(env);
            p.setProcessChannelMode(QProcess::MergedChannels);
            p.start(CliJob::program(), train + QStringList{dir});
            QVERIFY(p.waitForStarted(10000));
            if (point == "start") {  // kill -9 as soon as the run folder exists
                QTRY_VERIFY_WITH_TIMEOUT(QFile::exists(dir + "/config.json"), 60000);
                p.kill();
            }
            QVERIFY(p.waitForFinished(120000));
            QVERIFY2(point == "start" ? p.exitStatus() == QProcess::CrashExit : p.exitCode() == 137,
                     qPrintable(point + ": " + QString::fromUtf8(p.readAll())));
            QVERIFY(!QFile::exists(dir + "/final.safetensors"));
            QString err;
            QVERIFY2(w.openPath(dir, &err), qPrintable(point + ": " + err));
            QCOMPARE(w.trainingView()->runDir(), dir);
            // Resumed from the workbench, as its Resume button does: to the end.
            w.runner()->start(train::resumeJob(), {dir.toStdString()});
            QVERIFY(waitIdle(w.runner(), 180000));
            QVERIFY2(w.lastError().isEmpty(), qPrintable(point + ": " + w.lastError()));
            QVERIFY2(QFile::exists(dir + "/final.safetensors"), qPrintable(point));
        }
        QVERIFY2(w.openPath(tmp.filePath("runs"), nullptr), "the folder of killed and resumed runs");
        QTRY_COMPARE(w.runsView()->runCount(), int(points.size()));
    }
};

QTEST_MAIN(OpenTest)
#include "test_mainwindow_open.moc"
