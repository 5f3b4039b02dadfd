// QtTest, offscreen: a job's progress line in the view that started it (widgets/jobview.h), fed
// by the window while the job runs and cleared when it ends.
#include <QLabel>
#include <QtTest>

#include <filesystem>

#include "analysisview.h"
#include "inspectview.h"
#include "jobrunner.h"
#include "mainwindow.h"
#include "projectpanel.h"

using namespace dilute;
using namespace dilute::gui;

class JobViewTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void theLineShowsAndHides() {
        AnalysisView v;
        QVERIFY(v.progressLabel() && v.progressLabel()->isHidden());
        v.setProgressText("profile: 40% (4 of 10), ETA 0:03");
        QVERIFY(!v.progressLabel()->isHidden());
        QCOMPARE(v.progressLabel()->text(), QString("profile: 40% (4 of 10), ETA 0:03"));
        v.setProgressText(QString());
        QVERIFY(v.progressLabel()->isHidden());
    }

    void theWindowFeedsTheViewThatStartedTheJob() {
        if (!std::filesystem::exists("/usr/share/datasets/fashion-mnist")) QSKIP("dataset-fashion-mnist not installed");
        qputenv("HOME", QDir::tempPath().toUtf8() + "/dilute-jobview-home");  // no earlier session reopened
        MainWindow w;
        w.projectPanel()->setModel("vit_nano_patch7_28");
        analysis::AnalysisOptions o = w.analysisView()->options();
        o.calib = 64;
        o.k = 1;
        QStringList lines;
        connect(w.runner()->worker(), &Worker::progress, &w,
                [&](const JobProgress&) { lines << w.analysisView()->progressLabel()->text(); });
        w.startAnalysis(o);
        QVERIFY(!w.analysisView()->progressLabel()->isHidden());
        QTRY_VERIFY_WITH_TIMEOUT(!w.runner()->busy(), 60000);
        QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
        QVERIFY2(!lines.isEmpty() && lines.last().contains("%"), qPrintable(lines.join(" | ")));
        QTRY_VERIFY(w.analysisView()->progressLabel()->isHidden());                // cleared when the job ended
        QVERIFY(w.inspectView() && w.inspectView()->progressLabel()->isHidden());  // no other view shows it
    }
};

QTEST_MAIN(JobViewTest)
#include "test_jobview.moc"
