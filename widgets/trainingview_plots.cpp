// The Training view's plots: built with their smoothing and log-scale controls, fed with step and
// epoch events (drawn at most 25 times a second), fitted to the run unless the user moved them.
#include <qcustomplot.h>
#include <QCheckBox>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QSlider>

#include <cmath>

#include "plotutil.h"
#include "trainingview.h"

namespace dilute::gui {

// Loss and throughput: the raw curve faint behind its smoothed one. Every plot can be dragged and
// wheel-zoomed; a double-click gives back the fitted view.
void TrainingView::buildPlots() {
    loss_ = makePlot("Training loss", "step", "loss", this);
    top1_ = makePlot("Test top-1", "epoch", "top-1 (%)", this);
    lambda_ = makePlot("Mask decay (lambda per block)", "step", "lambda", this);
    lr_ = makePlot("Learning rate", "step", "lr", this);
    speed_ = makePlot("Throughput", "step", "images/s", this);
    for (auto [plot, colour] : {std::pair{loss_, 0}, std::pair{speed_, 5}}) {
        QColor faint(seriesColor(colour));
        faint.setAlpha(70);
        plot->addGraph()->setPen(QPen(faint, 1));                          // raw
        plot->addGraph()->setPen(QPen(QColor(seriesColor(colour)), 1.8));  // smoothed
    }
    top1_->addGraph()->setPen(QPen(QColor(seriesColor(2)), 2));
    top1_->graph(0)->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 7));
    lr_->addGraph()->setPen(QPen(QColor(seriesColor(4)), 1.5));
    // Live plots redraw several times a second while training shares the CPU: draw lines
    // without antialiasing and fast polylines (text stays antialiased).
    for (auto* p : plots()) {
        p->setNotAntialiasedElements(QCP::aePlottables | QCP::aeGrid | QCP::aeSubGrid | QCP::aeAxes);
        p->setPlottingHint(QCP::phFastPolylines, true);
        enableViewReset(p, [this] { redraw(); });
    }
    lambda_->yAxis->setRange(-0.05, 1.05);
    QSharedPointer<QCPAxisTickerFixed> epochTicks(new QCPAxisTickerFixed);
    epochTicks->setTickStep(1.0);
    epochTicks->setScaleStrategy(QCPAxisTickerFixed::ssMultiples);
    top1_->xAxis->setTicker(epochTicks);
    top1_->xAxis->setRange(0.5, 1.5);
    top1_->yAxis->setRange(0, 100);
    lr_->yAxis->setNumberFormat("eb");
    lr_->yAxis->setNumberPrecision(1);
}

QWidget* TrainingView::plotControls() {
    auto* box = new QWidget(this);
    auto* form = new QFormLayout(box);
    auto* slider = new QSlider(Qt::Horizontal, box);
    slider->setObjectName("smoothing");
    slider->setRange(0, 99);
    slider->setValue(int(std::lround(smoothing_ * 100)));
    auto* value = new QLabel(QString::number(smoothing_, 'f', 2), box);
    slider->setToolTip(
        tr("Exponential moving average of loss and throughput, as TensorBoard smooths "
           "(0: raw); the raw curve stays faint behind"));
    connect(slider, &QSlider::valueChanged, this, [this, value](int v) {
        smoothing_ = v / 100.0;
        value->setText(QString::number(smoothing_, 'f', 2));
        redraw();
    });
    auto* row = new QHBoxLayout;
    row->addWidget(slider, 1);
    row->addWidget(value);
    form->addRow(tr("Smoothing"), row);
    auto* log = new QCheckBox(tr("log scale"), box);
    log->setObjectName("logLoss");
    connect(log, &QCheckBox::toggled, this, [this](bool on) {
        logLoss_ = on;
        loss_->yAxis->setScaleType(on ? QCPAxis::stLogarithmic : QCPAxis::stLinear);
        if (on)
            loss_->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
        else
            loss_->yAxis->setTicker(QSharedPointer<QCPAxisTicker>(new QCPAxisTicker));
        redraw();
    });
    form->addRow(tr("Loss"), log);
    auto* hint = new QLabel(tr("Drag or wheel to zoom a plot; double-click it to fit it again. The y-range "
                               "fits the run after its first steps."),
                            box);
    hint->setWordWrap(true);
    form->addRow(hint);
    return box;
}

void TrainingView::clearPlots() {
    pending_ = {};
    showEmptyState(true);
    epochLine_.clear();
    for (auto* p : {loss_, top1_, lr_, speed_})
        for (int g = 0; g < p->graphCount(); ++g) p->graph(g)->data()->clear();
    lambda_->clearGraphs();
    lambdaBlocks_.clear();
    top1_->xAxis->setRange(0.5, 1.5);
    top1_->yAxis->setRange(0, 100);
    for (auto* p : plots()) p->replot();
}

void TrainingView::ensureLambdaGraphs(const std::vector<int>& blocks) {
    if (blocks == lambdaBlocks_) return;
    lambda_->clearGraphs();
    lambdaBlocks_ = blocks;
    for (size_t i = 0; i < blocks.size(); ++i) {
        auto* g = lambda_->addGraph();
        g->setName(QString("block %1").arg(blocks[i]));
        g->setPen(QPen(QColor(seriesColor(int(i) + 1)), 2));
    }
    if (!blocks.empty())
        showLegendBelow(lambda_);  // moved under the axes the first time
    else
        lambda_->legend->setVisible(false);
}

void TrainingView::addStep(const train::StepEvent& e) { pending_.steps.push_back(e); }
void TrainingView::addEpoch(const train::EpochEvent& e) { pending_.epochs.push_back(e); }

void TrainingView::flush() {
    if (pending_.steps.empty() && pending_.epochs.empty()) return;
    if (loss_->itemCount() > 0) showEmptyState(false);  // the first points of a run
    for (const auto& e : pending_.steps) {
        const double x = double(e.step);
        loss_->graph(0)->addData(x, e.loss);
        lr_->graph(0)->addData(x, e.lr);
        speed_->graph(0)->addData(x, e.images_per_s);
        ensureLambdaGraphs(e.blocks);
        for (size_t i = 0; i < e.lambdas.size() && int(i) < lambda_->graphCount(); ++i)
            lambda_->graph(int(i))->addData(x, e.lambdas[i]);
    }
    for (const auto& e : pending_.epochs) {
        top1_->graph(0)->addData(e.epoch + 1, e.test_top1);
        epochLine_ = tr("epoch %1: test top-1 %2%, train loss %3")
                         .arg(e.epoch + 1)
                         .arg(e.test_top1, 0, 'f', 2)
                         .arg(e.train_loss, 0, 'f', 4);
        updateStatus();
    }
    pending_ = {};
    dirty_ = true;
    if (isVisible()) redraw();
}

void TrainingView::showEvent(QShowEvent* e) {
    QWidget::showEvent(e);
    if (dirty_) redraw();
}

void TrainingView::redraw() {
    dirty_ = false;
    setSmoothed(loss_->graph(0), loss_->graph(1), smoothing_);
    setSmoothed(speed_->graph(0), speed_->graph(1), smoothing_);
    for (auto* p : {loss_, lr_, speed_})
        if (!userView(p)) p->rescaleAxes();
    // Loss and throughput: fitted to the run after its first 5% of steps (the first steps' loss
    // does not squash the rest); the raw points outside stay drawn, clipped.
    if (!userView(loss_)) loss_->yAxis->setRange(fittedRange(loss_->graph(0), 0.05, logLoss_));
    if (!userView(speed_)) speed_->yAxis->setRange(fittedRange(speed_->graph(0), 0.05, false));
    if (!userView(lambda_)) lambda_->xAxis->rescale();
    if (!userView(top1_)) fitTop1();
    for (auto* p : plots()) p->replot(QCustomPlot::rpQueuedReplot);
}

// With 0 or 1 epoch points rescaling has no span to fit: show a readable window instead.
void TrainingView::fitTop1() {
    top1_->rescaleAxes();
    const int epochsDrawn = top1_->graph(0)->dataCount();
    if (epochsDrawn == 0) {
        top1_->xAxis->setRange(0.5, 1.5);
        top1_->yAxis->setRange(0, 100);
    } else if (epochsDrawn == 1) {
        const double v = top1_->graph(0)->data()->begin()->value;
        top1_->xAxis->setRange(0.5, 1.5);
        top1_->yAxis->setRange(std::max(0.0, v - 10), std::min(100.0, v + 10));
    } else {
        top1_->xAxis->setRange(0.5, top1_->xAxis->range().upper + 0.5);
        top1_->yAxis->scaleRange(1.2, top1_->yAxis->range().center());
    }
}

}  // namespace dilute::gui
