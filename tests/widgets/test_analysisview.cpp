// QtTest, offscreen: The Analysis view: the heatmap and its selection (mouse and keyboard), the empty state, partial
// results, and the analysis job drawn into it.
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

class AnalysisViewTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { initWidgetTests(); }

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
        QSignalSpy partials(w.runner()->worker(), &Worker::partial);
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
};

QTEST_MAIN(AnalysisViewTest)
#include "test_analysisview.moc"
