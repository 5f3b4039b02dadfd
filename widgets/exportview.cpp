#include "exportview.h"

#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QTableWidget>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include "plotutil.h"

namespace dilute::gui {

ExportView::ExportView(QWidget* parent) : QWidget(parent) {
    run_ = new QLineEdit(this);
    run_->setToolTip("Run folder of a finished dilution run (its final.safetensors)");
    baseline_ = new QLineEdit(this);
    baseline_->setToolTip("The model before dilution (measured as 'full')");
    out_ = new QLineEdit(this);
    out_->setToolTip("Folder for pruned.safetensors and pruned.pt (default: RUN/export)");
    export_ = new QPushButton("Export pruned model and measure", this);
    export_->setShortcut(QKeySequence("Ctrl+E"));
    export_->setToolTip("Remove the attention of blocks at lambda 0, fold, write safetensors + TorchScript, then "
                        "benchmark full vs pruned (Ctrl+E)");
    files_ = new QLabel(this);
    files_->setWordWrap(true);
    files_->setTextInteractionFlags(Qt::TextSelectableByMouse);
    table_ = new QTableWidget(7, 3, this);
    table_->setHorizontalHeaderLabels({"full", "pruned", "pruned / full"});
    table_->setVerticalHeaderLabels({"top-1 (%), 2,000 test img.", "parameters (M)", "GMAC / image", "images/s",
                                     "latency p50 (ms)", "latency p95 (ms)", "peak memory (MB)"});
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->setMinimumHeight(250);
    chart_ = makePlot("Pruned relative to full (1 = unchanged)", "", "pruned / full", this);
    auto* browse = new QPushButton("Browse...", this);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, "Run folder", run_->text());
        if (!d.isEmpty()) run_->setText(d);
    });
    connect(export_, &QPushButton::clicked, this, [this] {
        const QString out = out_->text().isEmpty() ? run_->text() + "/export" : out_->text();
        Q_EMIT exportRequested(run_->text(), out, baseline_->text());
    });
    auto* runRow = new QHBoxLayout;
    runRow->addWidget(run_, 1);
    runRow->addWidget(browse);
    auto* form = new QFormLayout;
    form->addRow("Dilution run", runRow);
    form->addRow("Full model (before)", baseline_);
    form->addRow("Export folder", out_);
    auto* left = new QVBoxLayout;
    left->addLayout(form);
    left->addWidget(export_);
    left->addWidget(files_);
    left->addWidget(table_, 1);
    auto* top = new QHBoxLayout(this);
    auto* leftBox = new QWidget(this);
    leftBox->setLayout(left);
    top->addWidget(leftBox, 1);
    top->addWidget(chart_, 1);
}

void ExportView::setRun(const QString& runDir, const QString& baseline) {
    run_->setText(runDir);
    baseline_->setText(baseline);
}
QString ExportView::runDir() const { return run_->text(); }
QString ExportView::baseline() const { return baseline_->text(); }
void ExportView::setBusy(bool busy) { export_->setEnabled(!busy); }

void ExportView::setReport(const ExportReport& r) {
    QStringList rm;
    for (int b : r.removed) rm << QString::number(b);
    files_->setText(QString("Attention removed from blocks %1 (folded).\nWrote %2\nand %3 (torch.jit.load)\n"
                            "max |logit difference| vs the diluted model: %4")
                        .arg(rm.join(", "), r.pruned_path, r.torchscript_path)
                        .arg(r.max_abs_diff, 0, 'g', 3));
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
    QVector<QString> labels{"top-1", "params", "GMAC", "img/s", "lat p50", "lat p95", "memory"};
    for (int i = 0; i < 7; ++i) {
        const auto& row = rows[i];
        const double ratio = row.a > 0 ? row.b / row.a : 0;
        table_->setItem(i, 0, new QTableWidgetItem(QString::number(row.a, 'f', row.prec)));
        table_->setItem(i, 1, new QTableWidgetItem(QString::number(row.b, 'f', row.prec)));
        table_->setItem(i, 2, new QTableWidgetItem(row.a > 0 ? QString::number(ratio, 'f', 3) : "n/a"));
        ticks << i;
        ratios << ratio;
    }
    chart_->clearPlottables();
    chart_->clearItems();
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
