// QtTest, offscreen: the Inspect view (widgets/inspectview.h) draws an inspection, flips first,
// enlarges a class-token map on a click, selects blocks on the distance heatmap as the Analysis
// view does, takes its options from the table `dilute inspect` takes, and runs its job off the
// GUI thread.
#include <qcustomplot.h>
#include <QLabel>
#include <QListWidget>
#include <QtTest>

#include <algorithm>
#include <cmath>

#include "analysisview.h"
#include "inspectview.h"
#include "jobrunner.h"
#include "mainwindow.h"
#include "optionform.h"
#include "trainingview.h"
#include "workbench_helpers.h"

#undef slots
#include "inspect/compare.h"
#include "inspect/job.h"
#include "inspect/optiontable.h"
#define slots Q_SLOTS

using namespace dilute;
using namespace dilute::gui;

namespace {
QString golden(const char* f) { return QString(DILUTE_SOURCE_DIR) + "/tests/data/golden/" + f; }

// 4 images of a 3-block, 2-head model on a 2x2 grid; block 2 removed; image 2 flips right ->
// wrong and image 3 wrong -> right against a second model.
inspect::InspectResult fake(bool classToken = true) {
    inspect::InspectResult r;
    r.model = "fake";
    r.depth = 3, r.heads = 2, r.grid = 2, r.patch = 4, r.prefix = 1, r.classes = 2, r.thumb = 8;
    r.class_token = classToken;
    r.modes = {"full", "diluted", "removed"};
    r.lambdas = {1.0, 0.5, 0.0};
    r.class_names = {"cat", "dog"};
    r.mean_distance = {1, 2, 3, 4, NAN, NAN};
    r.images = {{"a", 0, 0, 0.9, 0, 0.8}, {"b", 1, 1, 0.7, 1, 0.9}, {"c", 0, 0, 0.6, 1, 0.3}, {"d", 1, 0, 0.2, 1, 0.6}};
    r.thumbnails.assign(4 * 8 * 8 * 3, 128);
    if (classToken) r.cls.assign(4 * 3 * 2 * 4, 0.25f);
    r.rollout.assign(4 * 4, 0.1f);
    inspect::compareImages(r, "pruned");  // right -> wrong {2}, wrong -> right {3}
    return r;
}
}  // namespace

class InspectViewTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void emptyStateSaysWhatToDo() {
        InspectView v;
        QVERIFY(!v.hasResult());
        QCOMPARE(v.imageList()->count(), 0);
        QVERIFY2(v.summaryLabel()->text().contains("Inspect (Ctrl+I)"), qPrintable(v.summaryLabel()->text()));
    }

    void flipsComeFirstAndMapsEnlarge() {
        InspectView v;
        v.resize(1200, 700);
        v.show();
        v.setResult(fake());
        QCOMPARE(v.imageList()->count(), 4);
        QCOMPARE(v.imageList()->item(0)->data(Qt::UserRole).toInt(), 2);  // right -> wrong first
        QCOMPARE(v.imageList()->item(1)->data(Qt::UserRole).toInt(), 3);  // then wrong -> right
        QVERIFY2(v.imageList()->item(0)->text().contains("✓ → ✗ dog"), qPrintable(v.imageList()->item(0)->text()));
        QVERIFY2(v.summaryLabel()->text().contains("right → wrong: 1"), qPrintable(v.summaryLabel()->text()));
        QCOMPARE(v.imageList()->item(2)->data(Qt::UserRole).toInt(), 1);  // then the largest changes of p(label)
        // The confusion difference: label 0 predicted 1 once more, label 1 predicted 0 once less.
        auto* t = v.confusionTable();
        QVERIFY(!t->isHidden());
        QCOMPARE(t->rowCount(), 2);
        QCOMPARE(t->item(0, 1)->text(), QString("1"));
        QCOMPARE(t->item(1, 0)->text(), QString("-1"));
        QCOMPARE(t->item(0, 0)->text(), QString("-1"));
        QCOMPARE(t->item(1, 1)->text(), QString("1"));
        QCOMPARE(v.currentImage(), 2);
        v.imageList()->setCurrentRow(3);  // order 2, 3, 1, 0
        QCOMPARE(v.currentImage(), 0);
        v.showMap(1, 0);
        const auto caption = v.findChildren<QLabel*>();
        bool found = false;
        for (auto* l : caption) found = found || l->text().contains("block 1, head 0: class-token attention (diluted)");
        QVERIFY(found);
    }

    void clickingTheDistanceHeatmapSelectsABlock() {
        InspectView v;
        v.resize(1200, 700);
        v.show();
        v.setResult(fake());
        QVERIFY(QTest::qWaitForWindowExposed(&v));
        QSignalSpy changed(&v, &InspectView::selectionChanged);
        auto* plot = v.distancePlot();
        plot->replot();
        const QPoint row1(int(plot->xAxis->coordToPixel(0)), int(plot->yAxis->coordToPixel(1)));
        QCOMPARE(v.blockAt(row1), 1);
        QTest::mouseClick(plot, Qt::LeftButton, {}, row1);
        QCOMPARE(changed.count(), 1);
        QCOMPARE(v.selection(), std::vector<int>{1});
        v.setSelection({0, 2});  // from the Analysis view: shown, not echoed back
        QCOMPARE(changed.count(), 1);
        QCOMPARE(v.selection(), (std::vector<int>{0, 2}));
    }

    void aModelWithoutClassTokenSaysSo() {
        InspectView v;
        v.resize(1200, 700);
        v.show();
        v.setResult(fake(false));
        bool said = false;
        for (auto* l : v.findChildren<QLabel*>()) said = said || l->text().contains("no class token");
        QVERIFY(said);
    }

    void oneSelectionWithTheAnalysisAndTrainingViews() {
        MainWindow w;
        w.analysisView()->setResult(testing::fakeResult(3, 2));  // its selection reaches the Inspect view
        QCOMPARE(w.inspectView()->selection(), w.analysisView()->selection());
        w.inspectView()->setResult(fake());
        w.inspectView()->toggleBlock(1);
        const auto sel = w.analysisView()->selection();
        QVERIFY(std::count(sel.begin(), sel.end(), 1) == 1);
        QCOMPARE(w.analysisView()->selection(), w.inspectView()->selection());
        QCOMPARE(w.trainingView()->selection(), w.inspectView()->selection());
        w.analysisView()->toggleBlock(0);
        QCOMPARE(w.inspectView()->selection(), w.analysisView()->selection());
    }

    void formAndCliComeFromOneTable() {
        if (CliJob::program().isEmpty()) QSKIP("the dilute CLI is not built");
        InspectView v;
        testing::checkOptionParity("inspect", inspect::inspectOptionTable(), *v.optionForm(), v.options(), {"--json"});
    }

    void theJobRunsOffTheGuiThread() {
        JobRunner runner;
        InspectView v;
        QSignalSpy done(runner.worker(), &Worker::done);
        QSignalSpy failed(runner.worker(), &Worker::failed);
        QObject::connect(runner.worker(), &Worker::done, &v, [&v](const QVariant& r) {
            if (const auto* p = resultOf<inspect::InspectResult>(r)) v.setResult(*p);
        });
        auto o = v.options();
        o.model = golden("plain.pth").toStdString();
        o.heads = 2;
        o.input = golden("input.safetensors").toStdString();
        o.vs = o.model;
        runner.start(inspect::inspectJob(), o);
        QTRY_VERIFY_WITH_TIMEOUT(!runner.busy(), 30000);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().at(0).toString()));
        QCOMPARE(done.count(), 1);
        QVERIFY(v.hasResult());
        QCOMPARE(v.imageList()->count(), 2);
        QCOMPARE(v.result().depth, 2);
    }
};

QTEST_MAIN(InspectViewTest)
#include "test_inspectview.moc"
