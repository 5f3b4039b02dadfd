// QtTest, offscreen: the workbench window as a whole with real jobs on small models (training,
// cancel and resume, closing during a job, multi-process training, the option tables against the
// CLI); each view's own behaviour is in test_<view>.cpp.
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
#include "train/job.h"
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

class WorkbenchTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { initWidgetTests(); }

    void shortTrainingAddsPointsToEveryPlotAndReopens() {
        if (!haveFashion()) QSKIP("dataset-fashion-mnist not installed");
        QTemporaryDir tmp;
        MainWindow w;
        w.projectPanel()->setModel("vit_nano_patch7_28");
        w.analysisView()->setResult(fakeResult());
        w.trainingView()->setSelection({1, 3});
        auto o = w.trainingView()->options();
        o.epochs = 2;
        o.batch = 64;
        o.train_limit = 384;
        o.test_limit = 128;
        o.out_dir = tmp.filePath("run").toStdString();
        w.startTraining(o);
        QVERIFY(waitIdle(w.runner(), 180000));
        QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
        auto* t = w.trainingView();
        t->flush();
        QCOMPARE(t->pointCount(0), 12);      // loss per step
        QCOMPARE(t->pointCount(1), 2);       // top-1 per epoch
        QCOMPARE(t->pointCount(2), 2 * 12);  // lambda of blocks 1 and 3
        QCOMPARE(t->pointCount(3), 12);      // lr
        QCOMPARE(t->pointCount(4), 12);      // images/s
        // Reopening the run redraws the same plots from metrics.jsonl.
        TrainingView again;
        QString err;
        QVERIFY2(again.loadRun(tmp.filePath("run"), &err), qPrintable(err));
        for (int i = 0; i < 5; ++i) QCOMPARE(again.pointCount(i), t->pointCount(i));
        QCOMPARE(w.exportView()->runDir(), tmp.filePath("run"));
        // Export and measure from the Export view, with the form's options (the job `dilute
        // measure` runs), on the project's device.
        auto* ev = w.exportView();
        auto* form = ev->optionForm();
        qobject_cast<QLineEdit*>(form->editor("eval_images"))->setText("100");
        for (const char* n : {"batch", "repeats", "latency_runs", "rounds"})
            qobject_cast<QSpinBox*>(form->editor(n))->setValue(1);
        qobject_cast<QSpinBox*>(form->editor("warmup"))->setValue(0);
        QPushButton* exportButton = nullptr;
        for (auto* b : ev->findChildren<QPushButton*>())
            if (b->text().startsWith("Export pruned")) exportButton = b;
        QVERIFY(exportButton);
        exportButton->click();
        QVERIFY(waitIdle(w.runner(), 120000));
        QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
        QVERIFY(ev->table()->verticalHeaderItem(0)->text().contains("100 test img"));
        QVERIFY(ev->table()->item(1, 2)->text().toDouble() < 1.0);  // fewer parameters
        QFile measured(tmp.filePath("run/export/measure.json"));
        QVERIFY(measured.open(QIODevice::ReadOnly));
        const auto mj = QJsonDocument::fromJson(measured.readAll()).object();
        QCOMPARE(mj.value("eval_images").toInt(), 100);
        QCOMPARE(mj.value("batch").toInt(), 1);
        QCOMPARE(mj.value("removed_blocks").toArray().size(), 2);
    }

    void cancelStopsTheJobAndResumeContinues() {
        if (!haveFashion()) QSKIP("dataset-fashion-mnist not installed");
        QTemporaryDir tmp;
        MainWindow w;
        w.projectPanel()->setModel("vit_nano_patch7_28");
        auto o = w.trainingView()->options();
        o.epochs = 50;
        o.batch = 64;
        o.train_limit = 6400;
        o.test_limit = 128;
        o.out_dir = tmp.filePath("run").toStdString();
        QSignalSpy cancelled(w.runner()->worker(), &Worker::cancelled);
        QSignalSpy steps(w.runner()->worker(), &Worker::step);
        w.startTraining(o);
        QTRY_VERIFY_WITH_TIMEOUT(steps.count() >= 3, 60000);
        w.runner()->cancel();
        QVERIFY(waitIdle(w.runner(), 30000));
        QCOMPARE(cancelled.count(), 1);
        QVERIFY(QFile::exists(tmp.filePath("run/checkpoints/last.json")));
        const int done = steps.count();
        QVERIFY(done < 100);  // stopped within a step of the request, not at the end of 50 epochs
        // Resume continues from the checkpoint.
        QSignalSpy more(w.runner()->worker(), &Worker::step);
        w.runner()->start(train::resumeJob(), {tmp.filePath("run").toStdString()});
        QTRY_VERIFY_WITH_TIMEOUT(more.count() >= 1, 60000);
        const auto first = more.at(0).at(0).value<train::StepEvent>();
        QCOMPARE(first.step, (long long)done + 1);
        w.runner()->cancelAndWait();
    }

    void closingDuringAJobExitsCleanly() {
        if (!haveFashion()) QSKIP("dataset-fashion-mnist not installed");
        QTemporaryDir tmp;
        auto* w = new MainWindow;
        w->show();
        w->projectPanel()->setModel("vit_nano_patch7_28");
        auto o = w->trainingView()->options();
        o.epochs = 50;
        o.train_limit = 6400;
        o.out_dir = tmp.filePath("run").toStdString();
        QSignalSpy steps(w->runner()->worker(), &Worker::step);
        w->startTraining(o);
        QTRY_VERIFY_WITH_TIMEOUT(steps.count() >= 1, 60000);
        QVERIFY(w->close());
        QVERIFY(!w->runner()->busy());
        delete w;
        // The checkpoint written on cancel is complete and loadable.
        QVERIFY(QFile::exists(tmp.filePath("run/checkpoints/last.json")));
        QVERIFY(QDir(tmp.filePath("run/checkpoints")).entryList({"*.tmp.*"}).isEmpty());
    }

    void trainingFormAndCliComeFromOneOptionTable() {
        if (CliJob::program().isEmpty()) QSKIP("the dilute CLI is not built");
        auto cli = [](const QStringList& args) { return runCli(args); };
        // Every job's table: train (the Training view), analyze (the Analysis view), measure (the
        // Export view) and bench (whose options the Export view's measurement takes).
        TrainingView tv;
        // (train's defaults depend on the model's recipe: compared per model below)
        checkOptionParity("train", train::trainOptionTable(), *tv.optionForm(), tv.options(),
                          {"--resume", "--config", "--nproc"}, false);
        if (QTest::currentTestFailed()) return;
        AnalysisView av;
        checkOptionParity("analyze", analysis::analysisOptionTable(), *av.optionForm(), av.options(), {"--json"});
        if (QTest::currentTestFailed()) return;
        ExportView ev;
        checkOptionParity("measure", bench::measureOptionTable(), *ev.optionForm(), ev.options(), {"--json"});
        if (QTest::currentTestFailed()) return;
        StudyView sv;
        checkOptionParity("study", experiment::studyOptionTable(), *sv.optionForm(), sv.options(), {"--json"});
        if (QTest::currentTestFailed()) return;
        // bench: its table minus the device (the Project panel's) is the measurement part of the
        // Export view's form, with the same defaults.
        bench::BenchOptions bo = ev.options().bench;
        checkOptionParity(
            "bench", bench::benchOptionTable(), *ev.optionForm(), bo,
            {"--model", "--vs", "--remove", "--arch", "--weights-key", "--heads", "--img-size", "--json"});
        if (QTest::currentTestFailed()) return;
        // The same defaults: the GUI form after a model change equals the CLI's resolved options
        // (preset recipe included) for a small preset and a DeiT.
        for (const char* model : {"vit_nano_patch7_28", "deit_tiny_patch16_224"}) {
            const QString printed = cli({"train", "-m", model, "--print-config"});
            const auto fromCli = train::TrainOptions::fromJson(printed.toStdString());
            TrainingView v;
            v.setModel(model);
            const auto fromGui = v.options();
            for (const auto& spec : train::trainOptionTable()) {
                if (!spec.cliOnly.empty()) continue;
                QCOMPARE(QString::fromStdString(train::optionText(spec, fromGui)),
                         QString::fromStdString(train::optionText(spec, fromCli)));
            }
        }
        // What the user edited survives a model change; the rest follows the new model's recipe.
        TrainingView v;
        v.setModel("vit_nano_patch7_28");
        auto* epochs = qobject_cast<QSpinBox*>(v.optionForm()->editor("epochs"));
        QVERIFY(epochs);
        epochs->setValue(7);
        v.setModel("deit_tiny_patch16_224");
        QCOMPARE(v.options().epochs, 7);
        QCOMPARE(v.options().batch, 64);  // the DeiT recipe
        QVERIFY(v.optionForm()->editor("lr")->toolTip().contains("--lr"));
        // The recipe's lr follows the global batch: 4 processes, 4x the lr (the CLI's --nproc 4 alike).
        TrainingView p;
        p.setModel("deit_small_patch16_224");
        const double one = p.options().lr;
        p.setProcesses(4);
        QCOMPARE(p.options().lr, 4 * one);
        QCOMPARE(QString::fromStdString(p.options().recipe), QString("deit-scratch"));
        const auto nproc4 = train::TrainOptions::fromJson(
            cli({"train", "-m", "deit_small_patch16_224", "--nproc", "4", "--print-config"}).toStdString());
        QCOMPARE(p.options().lr, nproc4.lr);
    }

    void multiProcessTrainingRunsTheCliAndFollowsIt() {
        if (!haveFashion()) QSKIP("dataset-fashion-mnist not installed");
        if (CliJob::program().isEmpty()) QSKIP("the dilute CLI is not built");
        QTemporaryDir tmp;
        MainWindow w;
        w.projectPanel()->setModel("vit_nano_patch7_28");
        w.trainingView()->setProcesses(2);
        auto o = w.trainingView()->options();
        o.epochs = 1;
        o.batch = 32;  // per process: global batch 64
        o.train_limit = 384;
        o.test_limit = 128;
        o.out_dir = tmp.filePath("run").toStdString();
        QDir().mkpath(tmp.filePath("run/checkpoints"));  // a run is already there:
        w.startTraining(o);                              // the next free name is proposed and used
        QCOMPARE(w.trainingView()->runDir(), tmp.filePath("run-2"));
        QVERIFY(w.cliJob()->running());
        QSignalSpy done(w.cliJob(), &CliJob::finished);
        QVERIFY(done.wait(180000));
        QCOMPARE(done.at(0).at(0).toInt(), 0);
        QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
        auto* t = w.trainingView();
        t->flush();
        QCOMPARE(t->pointCount(0), 6);  // 384 / 64 global steps, read from the run's metrics.jsonl
        QCOMPARE(t->pointCount(1), 1);
        QVERIFY(!t->following());
        QVERIFY2(t->statusText().contains("finished"), qPrintable(t->statusText()));
        QFile cfg(tmp.filePath("run-2/config.json"));
        QVERIFY(cfg.open(QIODevice::ReadOnly));
        QVERIFY(cfg.readAll().contains("\"world_size\": 2"));
        QCOMPARE(w.projectPanel()->model(), tmp.filePath("run-2/final.safetensors"));
        QVERIFY(QDir(tmp.filePath("run")).entryList(QDir::Files).isEmpty());  // the old one untouched
    }
};

QTEST_MAIN(WorkbenchTest)
#include "test_workbench.moc"
