#include "exportview.h"

#include <qcustomplot.h>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>

#include "bench/optiontable.h"
#include "optionform.h"
#include "plotutil.h"

namespace dilute::gui {

ExportView::ExportView(QWidget* parent) : QWidget(parent) {
    run_ = new QLineEdit(this);
    run_->setToolTip(tr("Run folder of a finished dilution run (its final.safetensors)"));
    baseline_ = new QLineEdit(this);
    baseline_->setToolTip(tr("The model before dilution, measured as 'full' (empty: the project's model)"));
    out_ = new QLineEdit(this);
    out_->setToolTip(tr("Folder for pruned.safetensors, pruned.pt and measure.json (default: RUN/export)"));
    export_ = new QPushButton(tr("Export pruned model and measure"), this);
    export_->setShortcut(QKeySequence("Ctrl+E"));
    export_->setToolTip(
        tr("Remove the attention of blocks at lambda 0, fold, write safetensors + TorchScript, then "
           "benchmark full vs pruned (Ctrl+E); the CLI's `dilute measure` does the same"));
    files_ = new QLabel(this);
    files_->setWordWrap(true);
    files_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    table_ = new QTableWidget(7, 3, this);
    table_->setHorizontalHeaderLabels({tr("full"), tr("pruned"), tr("pruned / full")});
    table_->setVerticalHeaderLabels({tr("top-1 (%)"), tr("parameters (M)"), tr("GMAC / image"), tr("images/s"),
                                     tr("latency p50 (ms)"), tr("latency p95 (ms)"), tr("peak memory (MB)")});
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    table_->setVerticalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    table_->setSizeAdjustPolicy(QAbstractScrollArea::AdjustToContents);
    table_->setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    chart_ = makePlot(tr("Pruned relative to full (1 = unchanged)"), "", tr("pruned / full"), this);
    chart_->xAxis->setTicks(false);
    chart_->yAxis->setTicks(false);
    emptyStateText(chart_,
                   tr("Nothing measured yet: choose a finished dilution run,\nthen export and measure (Ctrl+E)"));
    auto* browse = new QPushButton(tr("Browse..."), this);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Run folder"), run_->text());
        if (!d.isEmpty()) run_->setText(d);
    });
    connect(export_, &QPushButton::clicked, this, [this] { Q_EMIT exportRequested(); });
    form_ = new OptionForm(bench::measureOptionTable(), this);
    auto* runRow = new QHBoxLayout;
    runRow->addWidget(run_, 1);
    runRow->addWidget(browse);
    auto* form = new QFormLayout;
    form->addRow(tr("Dilution run"), runRow);
    form->addRow(tr("Full model (before)"), baseline_);
    form->addRow(tr("Export folder"), out_);
    // Left: what to export and how to measure it; right: the measured table above its chart.
    auto* left = new QVBoxLayout;
    left->addLayout(form);
    left->addWidget(form_);
    left->addWidget(export_);
    left->addWidget(makeProgressLabel(this));
    left->addWidget(files_);
    left->addStretch(1);
    auto* right = new QVBoxLayout;
    right->addWidget(table_);
    right->addWidget(chart_, 1);
    auto* top = new QHBoxLayout(this);
    auto* leftBox = new QWidget(this);
    leftBox->setLayout(left);
    top->addWidget(leftBox, 2);
    top->addLayout(right, 3);
}

void ExportView::setRun(const QString& runDir, const QString& baseline) {
    run_->setText(runDir);
    baseline_->setText(baseline);
}
QString ExportView::runDir() const { return run_->text(); }
QString ExportView::baseline() const { return baseline_->text(); }

bench::MeasureOptions ExportView::options() const {
    bench::MeasureOptions o;
    form_->store(o);
    o.run = run_->text().toStdString();
    o.out_dir = (out_->text().isEmpty() ? run_->text() + "/export" : out_->text()).toStdString();
    o.baseline = baseline_->text().toStdString();
    return o;
}
void ExportView::setBusy(bool busy) { export_->setEnabled(!busy); }

void ExportView::setReport(const ExportReport& r) {
    QStringList rm;
    for (int b : r.removed) rm << QString::number(b);
    QString deploy;
    if (!r.onnx_path.isEmpty()) deploy += tr("\n%1 (ONNX Runtime, TensorRT, OpenVINO)").arg(r.onnx_path);
    if (!r.timm_dir.isEmpty()) deploy += tr("\n%1/ (PyTorch: dilute_vit.load)").arg(r.timm_dir);
    files_->setText(tr("Attention removed from blocks %1 (folded).\nWrote %2\n%3 (torch.jit.load)%4\n"
                       "max |logit difference| vs the diluted model: %5\nMeasured on %6, throughput batch %7.")
                        .arg(rm.join(", "), r.pruned_path, r.torchscript_path, deploy)
                        .arg(r.max_abs_diff, 0, 'g', 3)
                        .arg(r.device)
                        .arg(r.batch) +
                    (r.notes.isEmpty() ? QString() : tr("\nNote: ") + r.notes.join(tr("\nNote: "))));
    table_->verticalHeaderItem(0)->setText(r.eval_images > 0 ? tr("top-1 (%), %L1 test img.").arg(r.eval_images)
                                                             : tr("top-1 (not evaluated)"));
    struct Row {
        double a, b;
        int prec;
    };
    const Row rows[] = {{r.top1_full, r.top1_pruned, 2},
                        {r.full.params / 1e6, r.pruned.params / 1e6, 4},
                        {r.full.gmac, r.pruned.gmac, 4},
                        {r.full.images_per_s, r.pruned.images_per_s, 0},
                        {r.full.latency_p50_ms, r.pruned.latency_p50_ms, 3},
                        {r.full.latency_p95_ms, r.pruned.latency_p95_ms, 3},
                        {r.full.peak_mb, r.pruned.peak_mb, 1}};
    QVector<double> ticks, ratios;
    QVector<QString> labels{tr("top-1"),   tr("params"),  tr("GMAC"),  tr("img/s"),
                            tr("lat p50"), tr("lat p95"), tr("memory")};
    for (int i = 0; i < 7; ++i) {
        const auto& row = rows[i];
        const double ratio = row.a > 0 ? row.b / row.a : 0;
        table_->setItem(i, 0, new QTableWidgetItem(QString::number(row.a, 'f', row.prec)));
        table_->setItem(i, 1, new QTableWidgetItem(QString::number(row.b, 'f', row.prec)));
        table_->setItem(i, 2, new QTableWidgetItem(row.a > 0 ? QString::number(ratio, 'f', 3) : tr("n/a")));
        ticks << i;
        ratios << ratio;
    }
    chart_->clearPlottables();
    chart_->clearItems();
    chart_->xAxis->setTicks(true);
    chart_->yAxis->setTicks(true);
    auto* bars = new QCPBars(chart_->xAxis, chart_->yAxis);
    bars->setData(ticks, ratios);
    bars->setBrush(QColor(seriesColor(0)));
    bars->setPen(Qt::NoPen);
    QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
    t->addTicks(ticks, labels);
    chart_->xAxis->setTicker(t);
    chart_->xAxis->setRange(-0.6, 6.6);
    chart_->yAxis->setRange(0, std::max(1.4, *std::max_element(ratios.begin(), ratios.end()) * 1.15));
    auto* one = new QCPItemStraightLine(chart_);
    one->point1->setCoords(0, 1);
    one->point2->setCoords(1, 1);
    one->setPen(QPen(Qt::gray, 1, Qt::DashLine));
    chart_->replot();
}

}  // namespace dilute::gui
