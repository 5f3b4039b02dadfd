// QtTest, offscreen: The Export view: the before/after report.
#include <qcustomplot.h>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLabel>
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
#include "io/weights.h"
#define slots Q_SLOTS

using namespace dilute;
using namespace dilute::gui;

using namespace dilute::gui::testing;

class ExportViewTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { initWidgetTests(); }

    void exportViewShowsBeforeAfter() {
        ExportView v;
        ExportReport r;
        r.removed = {1, 3};
        r.top1_full = 86.0;
        r.top1_pruned = 85.5;
        r.full = {300000, 0.0054, 2000, 1.5, 2.0, 20};
        r.pruned = {270000, 0.0047, 2400, 1.3, 1.8, 19};
        v.setReport(r);
        QCOMPARE(v.table()->item(1, 2)->text(), QString("0.900"));
        QCOMPARE(v.chart()->plottableCount(), 1);
        auto shows = [&](const QString& text) {
            for (auto* l : v.findChildren<QLabel*>())
                if (l->text().contains(text)) return true;
            return false;
        };
        QVERIFY(!shows("Note:"));
        // The job's notes (a baseline that is not the run's start, a last checkpoint) are shown.
        r.notes << "--baseline b.safetensors holds other weights";
        v.setReport(r);
        QVERIFY(shows("Note: --baseline b.safetensors holds other weights"));
    }

    // The Export button's path: the window starts the measure job on the runner, and its result
    // (routed by type from the runner's done signal) fills this view's table.
    void theMeasureJobFillsTheReportThroughTheWindow() {
        QTemporaryDir tmp;
        const QString run = tmp.filePath("run");
        QVERIFY(QDir().mkpath(run));
        auto m = model::buildModel(model::preset("vit_nano_patch7_28"));
        m->initWeights(3);
        m->block(1)->setLambda(0.0);
        io::saveModel(*m, (run + "/final.safetensors").toStdString());
        MainWindow w;
        auto* v = w.exportView();
        v->setRun(run, "vit_nano_patch7_28");
        auto o = v->options();
        o.eval_images = 0;  // no dataset needed: the cost and speed rows only
        o.onnx = false;
        o.bench.batch = 4;
        o.bench.repeats = 1;
        o.bench.latency_runs = 2;
        o.bench.rounds = 1;
        v->optionForm()->load(o);
        QSignalSpy done(w.runner()->worker(), &Worker::done);
        w.startExport();
        QVERIFY(waitIdle(w.runner(), 120000));
        QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
        QCOMPARE(done.count(), 1);
        QVERIFY(QFile::exists(run + "/export/pruned.safetensors"));
        QVERIFY(QFile::exists(run + "/export/measure.json"));
        QVERIFY(v->table()->item(1, 0) && v->table()->item(1, 1));
        const double full = v->table()->item(1, 0)->text().toDouble(),
                     pruned = v->table()->item(1, 1)->text().toDouble();
        QVERIFY2(pruned < full, qPrintable(QString("%1 -> %2").arg(full).arg(pruned)));
    }
};

QTEST_MAIN(ExportViewTest)
#include "test_exportview.moc"
