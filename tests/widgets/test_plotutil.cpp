// QtTest, offscreen: the plot helpers the views share (widgets/plotutil.h): TensorBoard's
// smoothing, the y-range fitted after the first steps, and the view the user moved.
#include <qcustomplot.h>
#include <QtTest>

#include <cmath>

#include "plotutil.h"

using namespace dilute::gui;

class PlotUtilTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void emaIsTensorBoardsDebiasedAverage() {
        const auto flat = emaSmooth({2, 2, 2, 2}, 0.9);
        for (double v : flat) QCOMPARE(v, 2.0);  // debiased: a constant stays itself from the first point
        const auto s = emaSmooth({1, 3}, 0.5);
        QCOMPARE(s[0], 1.0);
        QCOMPARE(s[1], (0.5 * 0.5 * 1 + 0.5 * 3) / (1 - 0.25));  // (w(1-w) y0 + (1-w) y1) / (1 - w^2)
        QCOMPARE(emaSmooth({1, 5, 3}, 0.0), (std::vector<double>{1, 5, 3}));
        const auto nan = emaSmooth({1, NAN, 1}, 0.7);
        QVERIFY(std::isnan(nan[1]));
        QCOMPARE(nan[2], 1.0);
    }

    void rangeFitsAfterTheFirstSteps() {
        QCustomPlot p;
        auto* g = p.addGraph();
        g->addData(0, 50.0);  // the first step's loss
        for (int i = 1; i <= 100; ++i) g->addData(i, 1.0 + 0.01 * i);
        const auto r = fittedRange(g, 0.05, false);
        QVERIFY2(r.upper < 3 && r.lower > 0.9, qPrintable(QString("%1 %2").arg(r.lower).arg(r.upper)));
        g->addData(101, -1.0);  // a log axis counts positive values only
        QVERIFY(fittedRange(g, 0.05, true).lower > 0);
        QCustomPlot empty;
        QCOMPARE(fittedRange(empty.addGraph(), 0.05, false).upper, 1.0);
    }

    void doubleClickGivesBackTheFittedView() {
        QCustomPlot p;
        p.resize(300, 200);
        int resets = 0;
        enableViewReset(&p, [&] { ++resets; });
        QVERIFY(!userView(&p));
        QWheelEvent wheel(QPointF(150, 100), p.mapToGlobal(QPointF(150, 100)), {}, QPoint(0, 120), Qt::NoButton, {},
                          Qt::NoScrollPhase, false);
        QApplication::sendEvent(&p, &wheel);
        QVERIFY(userView(&p));
        QTest::mouseDClick(&p, Qt::LeftButton, {}, QPoint(150, 100));
        QVERIFY(!userView(&p));
        QCOMPARE(resets, 1);
    }
};

QTEST_MAIN(PlotUtilTest)
#include "test_plotutil.moc"
