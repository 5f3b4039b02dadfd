// QtTest, offscreen: The Runs view: runs listed with their status and provenance, several overlaid.
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

class RunsViewTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { initWidgetTests(); }

    void runsPanelListsRunsAndOverlaysThree() {
        QTemporaryDir tmp;
        writeFakeRun(tmp.filePath("nose"), "nose", {1, 3}, {60, 70, 72}, "finished");
        writeFakeRun(tmp.filePath("random"), "random", {0, 5}, {55, 61, 63}, "finished");
        writeFakeRun(tmp.filePath("control"), "manual", {}, {62, 66}, "cancelled");
        QDir().mkpath(tmp.filePath("not-a-run"));
        RunsView v;
        v.resize(1200, 700);
        v.show();
        v.setRoot(tmp.path());
        QCOMPARE(v.runCount(), 3);
        auto* t = v.table();
        // Sortable by a number column: best top-1 descending puts NOSE first.
        t->sortItems(5, Qt::DescendingOrder);
        QCOMPARE(t->item(0, 0)->text(), QString("nose"));
        QCOMPARE(t->item(0, 5)->text(), QString("72.00"));
        QCOMPARE(t->item(2, 0)->text(), QString("random"));
        QCOMPARE(t->item(1, 1)->text(), QString("cancelled"));
        QCOMPARE(t->item(1, 3)->text(), QString("none"));
        QCOMPARE(t->item(0, 3)->text(), QString("1,3"));
        // Nothing selected: empty plots; three selected: three graphs per plot, one legend entry each.
        for (auto* p : v.plots()) QCOMPARE(p->graphCount(), 0);
        v.selectRuns({"nose", "random", "control"});
        QCOMPARE(v.selectedRuns().size(), 3);
        for (auto* p : v.plots()) {
            // The loss: each run's raw curve (faint, out of the legend) and its smoothed curve.
            QCOMPARE(p->graphCount(), p == v.plots().front() ? 6 : 3);
            QVERIFY(p->legend->visible());
            QCOMPARE(p->legend->itemCount(), 3);
        }
        QCOMPARE(v.plots().at(0)->graph(0)->dataCount(), 12);  // steps of the first selected run
        QCOMPARE(v.plots().at(1)->graph(2)->dataCount(), 3);   // its epochs (rows sorted: nose, control, random)
        QVERIFY(v.plots().at(1)->yAxis->range().contains(72));
        QVERIFY(v.plots().at(1)->yAxis->range().contains(55));
        // Refresh keeps the selection; a double-click asks to open the run.
        v.refresh();
        QCOMPARE(v.selectedRuns().size(), 3);
        QSignalSpy open(&v, &RunsView::openRunRequested);
        emit t->cellDoubleClicked(0, 0);
        QCOMPARE(open.size(), 1);
        QCOMPARE(open.at(0).at(0).toString(), tmp.filePath("nose"));
        // A run started elsewhere appears by itself (the timer sees the new files).
        writeFakeRun(tmp.filePath("first"), "first", {0, 1}, {50}, "");
        QTRY_COMPARE_WITH_TIMEOUT(v.runCount(), 4, 8000);
    }
};

QTEST_MAIN(RunsViewTest)
#include "test_runsview.moc"
