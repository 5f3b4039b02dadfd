// QtTest, offscreen: the Training view's plots (widgets/trainingview_plots.cpp): loss and
// throughput smoothed as TensorBoard smooths with the raw curve behind, a log-scale loss, and a
// y-range that the first steps' loss does not squash.
#include <qcustomplot.h>
#include <QCheckBox>
#include <QSlider>
#include <QtTest>

#include "trainingview.h"

#undef slots
#include "train/events.h"
#define slots Q_SLOTS

using namespace dilute;
using namespace dilute::gui;

class TrainingViewTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void lossIsSmoothedOverItsRawCurve() {
        TrainingView v;
        v.resize(1200, 700);
        v.show();
        for (int i = 0; i < 200; ++i) {
            train::StepEvent e;
            e.step = i;
            e.loss = i == 0 ? 40.0 : 1.0 + (i % 2 ? 0.5 : -0.5);  // a huge first step, then noise
            e.lr = 1e-3;
            e.images_per_s = 100;
            v.addStep(e);
        }
        v.flush();
        auto* loss = v.plots().front();
        QCOMPARE(loss->graphCount(), 2);
        const double raw = (loss->graph(0)->data()->constEnd() - 1)->value;
        const double smooth = (loss->graph(1)->data()->constEnd() - 1)->value;
        QVERIFY2(std::abs(smooth - 1.0) < 0.2 && std::abs(raw - 1.0) == 0.5, qPrintable(QString::number(smooth)));
        QVERIFY2(loss->yAxis->range().upper < 5, "the first step's loss squashes the rest");
        auto* slider = v.findChild<QSlider*>("smoothing");
        QVERIFY(slider);
        slider->setValue(0);  // no smoothing: the curve is the data
        QCOMPARE((loss->graph(1)->data()->constEnd() - 1)->value, raw);
        auto* log = v.findChild<QCheckBox*>("logLoss");
        QVERIFY(log);
        log->setChecked(true);
        QCOMPARE(loss->yAxis->scaleType(), QCPAxis::stLogarithmic);
        QVERIFY(loss->yAxis->range().lower > 0);
    }
};

QTEST_MAIN(TrainingViewTest)
#include "test_trainingview.moc"
