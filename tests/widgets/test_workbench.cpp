// QtTest, offscreen: the workbench views with real jobs on small models.
#include <QApplication>
#include <QDir>
#include <QCheckBox>
#include <QComboBox>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QPushButton>
#include <QProcess>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QLineEdit>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QtTest>
#include <qcustomplot.h>

#include "analysisview.h"
#include "clijob.h"
#include "exportview.h"
#include "jobrunner.h"
#include "mainwindow.h"
#include "optionform.h"
#include "projectpanel.h"
#include "runsview.h"
#include "studyview.h"
#include "trainingview.h"
#include "analysis/optiontable.h"
#include "bench/optiontable.h"
#include "experiment/optiontable.h"
#include "train/optiontable.h"
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
    void initTestCase() {
        QCoreApplication::setOrganizationName("DiluteTest");
        QSettings().clear();
        dilute::setThreads(0);
    }

    void clickingHeatmapCellTogglesSelection() {
        AnalysisView v;
        v.resize(1200, 700);
        v.show();
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        v.setResult(fakeResult());
        QSignalSpy spy(&v, &AnalysisView::selectionChanged);
        auto* plot = v.heatmapPlot();
        plot->replot();
        const int x = int(plot->xAxis->coordToPixel(1));
        const int y = int(plot->yAxis->coordToPixel(2));
        QCOMPARE(v.blockAt(QPoint(x, y)), 2);
        QTest::mouseClick(plot, Qt::LeftButton, {}, QPoint(x, y));
        QCOMPARE(spy.count(), 1);
        QCOMPARE(v.selection(), (std::vector<int>{2, 4}));
        QTest::mouseClick(plot, Qt::LeftButton, {}, QPoint(x, y));
        QCOMPARE(v.selection(), (std::vector<int>{4}));
        // The selection is highlighted on the heatmap (solid frame; the dashed one is the keyboard cursor).
        int solid = 0;
        for (int i = 0; i < plot->itemCount(); ++i)
            if (auto* r = qobject_cast<QCPItemRect*>(plot->item(i)); r && r->pen().style() == Qt::SolidLine) ++solid;
        QCOMPARE(solid, 1);
        QCOMPARE(v.cursorBlock(), 2);  // the keyboard cursor follows the click
    }

    void analysisViewEmptyStatePartialResultsAndKeyboard() {
        QWidget host;  // the focus goes to another widget first, as in the main window
        auto* other = new QLineEdit(&host);
        auto* lay = new QVBoxLayout(&host);
        lay->addWidget(other);
        auto* view = new AnalysisView(&host);
        lay->addWidget(view);
        auto& v = *view;
        host.resize(1200, 760);
        host.show();
        other->setFocus();
        QVERIFY(QTest::qWaitForWindowExposed(&host));
        auto texts = [](QCustomPlot* p) {
            QStringList out;
            for (int i = 0; i < p->itemCount(); ++i)
                if (auto* t = qobject_cast<QCPItemText*>(p->item(i))) out << t->text();
            return out.join("|");
        };
        // Before any analysis: no colour map drawn, a message saying what to do in every plot
        // (without the heatmap ever having had the focus).
        QVERIFY(!v.heatmapPlot()->hasFocus());
        QVERIFY(!v.heatmapPlot()->plottable(0)->visible());
        for (auto* p : v.plots()) QVERIFY2(texts(p).contains("No analysis yet"), qPrintable(texts(p)));
        // A partial result (the profile only): heatmap and entropy drawn, T says it is coming.
        auto r = fakeResult();
        auto profileOnly = r;
        profileOnly.t_single.clear();
        profileOnly.selection = {};
        v.setResult(profileOnly, true);
        QVERIFY(v.heatmapPlot()->plottable(0)->visible());
        QVERIFY(texts(v.heatmapPlot()).isEmpty());
        QVERIFY(texts(v.plots().at(2)).contains("computing"));
        QVERIFY(texts(v.plots().at(3)).contains("after the selection"));
        // The whole result: the trace is readable (every candidate on its own line, nothing elided).
        r.selection.trace.push_back({{0, 1, 2, 3, 4, 5}, {0.5, 0.4, 0.3, 0.2, 0.1, 0.6}, 4, 0.1});
        v.setResult(r);
        QVERIFY(texts(v.plots().at(2)).isEmpty());
        QVERIFY(texts(v.plots().at(3)).contains("not computed"));
        auto* trace = v.traceTable();
        QCOMPARE(trace->rowCount(), 1);
        QCOMPARE(trace->item(0, 2)->text().count('\n'), 5);
        QVERIFY(trace->item(0, 2)->text().contains("4: 0.1000 *"));
        QVERIFY(trace->rowHeight(0) >= 5 * trace->fontMetrics().height());
        // Keyboard: focus the heatmap, Down twice, Space selects block 2; Space again deselects it.
        v.heatmapPlot()->setFocus();
        QTest::keyClick(v.heatmapPlot(), Qt::Key_Down);
        QTest::keyClick(v.heatmapPlot(), Qt::Key_Down);
        QCOMPARE(v.cursorBlock(), 2);
        QTest::keyClick(v.heatmapPlot(), Qt::Key_Space);
        QCOMPARE(v.selection(), (std::vector<int>{2, 4}));
        QTest::keyClick(v.heatmapPlot(), Qt::Key_Space);
        QCOMPARE(v.selection(), (std::vector<int>{4}));
        for (int i = 0; i < 10; ++i) QTest::keyClick(v.heatmapPlot(), Qt::Key_Down);
        QCOMPARE(v.cursorBlock(), 5);  // stays inside the model
    }

    void analysisJobFillsHeatmaps() {
        if (!haveFashion()) QSKIP("dataset-fashion-mnist not installed");
        MainWindow w;
        QTemporaryDir tmp;
        w.trainingView()->setRunDir(tmp.filePath("run"));
        w.projectPanel()->setModel("vit_nano_patch7_28");
        w.projectPanel()->setData("fashion-mnist");
        QSignalSpy partials(w.runner()->worker(), &Worker::analysisPartial);
        // Through the form and the Run button, as a user does.
        auto* form = w.analysisView()->optionForm();
        qobject_cast<QSpinBox*>(form->editor("k"))->setValue(2);
        qobject_cast<QSpinBox*>(form->editor("calib"))->setValue(128);
        qobject_cast<QCheckBox*>(form->editor("pairwise"))->setChecked(true);
        QCOMPARE(qobject_cast<QComboBox*>(form->editor("selector"))->currentText(), QString("nose"));
        QPushButton* run = nullptr;
        for (auto* b : w.analysisView()->findChildren<QPushButton*>())
            if (b->text() == "Run analysis") run = b;
        QVERIFY(run);
        run->click();
        QVERIFY(waitIdle(w.runner(), 120000));
        QCOMPARE(w.analysisView()->result().calib, 128);
        QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
        auto* v = w.analysisView();
        QVERIFY(v->hasResult());
        QCOMPARE(v->result().profile.depth, 6);
        QCOMPARE(int(v->selection().size()), 2);
        auto* heat = v->heatmapPlot();
        auto* map = qobject_cast<QCPColorMap*>(heat->plottable(0));
        QVERIFY(map);
        QCOMPARE(map->data()->keySize(), 4 + 2);
        QCOMPARE(map->data()->valueSize(), 6);
        QVERIFY(std::isfinite(map->data()->cell(0, 0)));
        for (auto* p : v->plots()) QVERIFY(p->plottableCount() > 0 || p->graphCount() > 0);
        // Drawn phase by phase: profile, T({i}), each NOSE round, the selection before pairwise.
        QVERIFY2(partials.size() >= 5, qPrintable(QString::number(partials.size())));
        const auto first = partials.first().at(0).value<analysis::AnalysisResult>();
        QCOMPARE(first.profile.depth, 6);
        QVERIFY(first.t_single.empty());
        const auto round1 = partials.at(2).at(0).value<analysis::AnalysisResult>();
        QCOMPARE(int(round1.selection.trace.size()), 1);
        // Written like the CLI's, beside the runs: a training from its selection records its provenance.
        const auto written = analysis::readAnalysis(tmp.filePath("analysis/analysis.json").toStdString());
        QCOMPARE(written.selection.blocks, v->result().selection.blocks);
        QCOMPARE(QString::fromStdString(written.selection.selector), QString("nose"));
    }

    void studyJobDrawsSelectorsAndSubsetsAndNeverReplacesAStudy() {
        if (!haveFashion()) QSKIP("dataset-fashion-mnist not installed");
        QTemporaryDir tmp;
        MainWindow w;
        w.projectPanel()->setModel("vit_nano_patch7_28");  // a preset: zero-shot only (random weights)
        w.projectPanel()->setData("fashion-mnist");
        auto* v = w.studyView();
        const QString dir = tmp.filePath("study");
        v->setFolder(dir);
        QSignalSpy partials(w.runner()->worker(), &Worker::studyPartial);
        auto* form = v->optionForm();
        qobject_cast<QSpinBox*>(form->editor("k"))->setValue(2);
        qobject_cast<QSpinBox*>(form->editor("calib"))->setValue(128);
        qobject_cast<QSpinBox*>(form->editor("eval_images"))->setValue(300);
        qobject_cast<QSpinBox*>(form->editor("seeds"))->setValue(2);
        QCOMPARE(qobject_cast<QComboBox*>(form->editor("exhaustive"))->currentText(), QString("auto"));
        auto* run = v->findChild<QPushButton*>("runStudy");
        QVERIFY(run);
        run->click();
        QVERIFY(waitIdle(w.runner(), 180000));
        QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
        QVERIFY(QFile::exists(dir + "/study.json"));
        QVERIFY(QFile::exists(dir + "/study.md"));
        QVERIFY(partials.size() >= 2);
        // nose, nose-abs, lowest, first, max-t, 2 random, min-t, oracle
        QCOMPARE(v->table()->rowCount(), 9);
        QCOMPARE(v->table()->item(0, 0)->text(), QString("nose"));
        QVERIFY(!v->table()->item(0, 3)->text().isEmpty());
        QVERIFY(v->table()->item(0, 4)->text().endsWith("of 15"));  // C(6,2) subsets, ranked
        // Scatter: every subset, then one series per selector; bars per selector.
        auto* sc = v->scatter();
        QVERIFY(sc->graphCount() >= 2);
        QCOMPARE(sc->graph(0)->data()->size(), 15);
        QVERIFY(sc->graph(1)->data()->size() >= 1);
        QVERIFY(v->bars()->plottableCount() >= 2);  // bars and their whiskers
        QVERIFY(v->summary()->text().contains("Spearman"));
        // The same folder again: the study goes beside it, the first one stays.
        const QByteArray first = [&] {
            QFile f(dir + "/study.json");
            f.open(QIODevice::ReadOnly);
            return f.readAll();
        }();
        run->click();
        QVERIFY(waitIdle(w.runner(), 180000));
        QCOMPARE(v->folder(), dir + "-2");
        QVERIFY(QFile::exists(dir + "-2/study.json"));
        QFile f(dir + "/study.json");
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), first);
        // Opening a study folder shows it; a broken one says which file and why.
        StudyView other;
        QString err;
        QVERIFY2(other.openStudy(dir, &err), qPrintable(err));
        QCOMPARE(other.table()->rowCount(), 9);
        QFile broken(tmp.filePath("broken/study.json"));
        QDir().mkpath(tmp.filePath("broken"));
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write("{\"format\": \"dilute.study/1\", \"model\": ");
        broken.close();
        QVERIFY(!other.openStudy(tmp.filePath("broken"), &err));
        QVERIFY2(err.contains("broken/study.json") && err.contains("not valid JSON"), qPrintable(err));
    }

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
        for (const char* n : {"batch", "repeats", "latency_runs", "rounds"}) qobject_cast<QSpinBox*>(form->editor(n))->setValue(1);
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
        w.runner()->startResume(tmp.filePath("run"));
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
    }

    void projectPreviewShowsImages() {
        if (!haveFashion()) QSKIP("dataset-fashion-mnist not installed");
        ProjectPanel p;
        p.setData("fashion-mnist");  // starts loading off the GUI thread
        QTRY_COMPARE(p.previewCount(), 8);
        p.setData("folder:/no/such/folder");
        QTRY_COMPARE(p.previewCount(), 0);
        // Two quick changes: only the last one is shown.
        p.setData("folder:/no/such/folder");
        p.setData("fashion-mnist");
        QTRY_COMPARE(p.previewCount(), 8);
    }

    void projectPreviewFolderColoursAndBadFile() {
        // A JPEG folder (decoded straight to RGB) shows its true colours; an undecodable file
        // gets its own cell instead of failing the whole preview.
        QTemporaryDir dir;
        QVERIFY(QDir().mkpath(dir.filePath("val/red")));
        QImage red(24, 24, QImage::Format_RGB888);
        red.fill(QColor(230, 20, 20));
        QVERIFY(red.save(dir.filePath("val/red/b.jpg"), "JPG", 95));
        QVERIFY(red.save(dir.filePath("val/red/c.png"), "PNG"));
        QFile bad(dir.filePath("val/red/a_broken.jpg"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("\xff\xd8\xff\xe0 not a jpeg");
        bad.close();
        ProjectPanel p;
        p.setData("folder:" + dir.path());
        QTRY_COMPARE(p.previewCount(), 3);
        int undecodable = 0, reddish = 0;
        for (auto* l : p.findChildren<QLabel*>()) {
            if (l->text() == "undecodable") {
                ++undecodable;
                QVERIFY(l->toolTip().contains("a_broken.jpg"));
            }
            const QPixmap pm = l->pixmap();
            if (!pm.isNull()) {
                const QColor c = pm.toImage().pixelColor(pm.width() / 2, pm.height() / 2);
                QVERIFY2(c.red() > 180 && c.blue() < 70, qPrintable(c.name()));
                ++reddish;
            }
        }
        QCOMPARE(undecodable, 1);
        QCOMPARE(reddish, 2);
    }

    void openRunFollowsAGrowingMetricsFile() {
        // A run written by another process (CLI, torchrun, a cluster on a shared folder).
        QTemporaryDir tmp;
        const QString dir = tmp.filePath("live");
        QDir().mkpath(dir);
        QFile f(QDir(dir).filePath("metrics.jsonl"));
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Append));
        auto step = [&](int s) {
            f.write(QString(R"({"event":"step","step":%1,"epoch":0,"loss":%2,"lr":0.001,"images_per_s":100,"blocks":[2],"lambda":[%3]})"
                            "\n").arg(s).arg(2.0 - 0.1 * s).arg(1.0 - 0.1 * s).toUtf8());
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
        f.write(R"({"event":"epoch","epoch":0,"step":4,"train_loss":1.7,"test_top1":55.5,"test_top5":90,"test_loss":1.2})" "\n");
        f.write(R"({"event":"step","step":5,)");  // half a line: waits for the rest
        f.flush();
        QTRY_COMPARE_WITH_TIMEOUT(v.pointCount(0), 4, 5000);  // the follow timer picked it up
        QCOMPARE(v.pointCount(1), 1);
        QCOMPARE(v.pointCount(2), 4);
        // One epoch point: a readable window around it, not QCustomPlot's +-1e37 of a zero span.
        const auto y = v.plots().at(1)->yAxis->range();
        QVERIFY2(y.lower >= 0 && y.upper <= 100 && y.size() <= 20.001 && y.contains(55.5),
                 qPrintable(QString("%1..%2").arg(y.lower).arg(y.upper)));
        f.write(R"("epoch":0,"loss":1.5,"lr":0.001,"images_per_s":100,"blocks":[2],"lambda":[0.5]})" "\n");
        f.write(R"({"event":"end","status":"finished","step":5})" "\n");
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
        checkOptionParity("analyze", analysis::analysisOptionTable(), *av.optionForm(), av.options(), {"--out", "--json"});
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
        checkOptionParity("bench", bench::benchOptionTable(), *ev.optionForm(), bo,
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
        const auto nproc4 = train::TrainOptions::fromJson(cli({"train", "-m", "deit_small_patch16_224", "--nproc", "4",
                                                                "--print-config"}).toStdString());
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
        w.startTraining(o);                               // the next free name is proposed and used
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
