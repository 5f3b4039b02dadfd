// The Study view's drawing: a study's result (partial while it runs) as the scatter of T(S)
// against zero-shot top-1 over the subsets with each selector's choice marked, the bars per
// selector (zero-shot and fine-tuned, with their spread), and the table of arms.
#include "studyview.h"

#include <qcustomplot.h>
#include <QHeaderView>
#include <QLabel>
#include <QTableWidget>

#include <algorithm>
#include <cmath>

#include "plotutil.h"

namespace dilute::gui {

namespace {

QString blockSetText(const std::vector<int>& b) {
    QStringList s;
    for (int i : b) s << QString::number(i);
    return "{" + s.join(", ") + "}";
}
QString num(double v, int digits) { return std::isfinite(v) ? QString::number(v, 'f', digits) : QString(); }

// The selectors in a fixed order, so a selector keeps its colour from one study to the next.
int selectorIndex(const std::string& s) {
    static const char* order[] = {"nose", "nose-abs", "lowest", "first", "random", "max-t", "min-t", "oracle"};
    for (int i = 0; i < 8; ++i)
        if (s == order[i]) return i;
    return 8;
}

QCPScatterStyle::ScatterShape shapeFor(int i) {
    static const QCPScatterStyle::ScatterShape shapes[] = {
        QCPScatterStyle::ssDiamond, QCPScatterStyle::ssTriangle, QCPScatterStyle::ssSquare,
        QCPScatterStyle::ssCross,   QCPScatterStyle::ssCircle,   QCPScatterStyle::ssTriangleInverted,
        QCPScatterStyle::ssStar,    QCPScatterStyle::ssPlus,     QCPScatterStyle::ssCircle};
    return shapes[std::min(i, 8)];
}

}  // namespace

void StudyView::setResult(const experiment::StudyResult& r, bool partial) {
    QString s = tr("<b>%1</b>, K = %2 of %3 blocks. Full model: top-1 %4% on %L5 %6 images.")
                    .arg(QFileInfo(QString::fromStdString(r.model)).fileName())
                    .arg(r.k)
                    .arg(r.depth)
                    .arg(num(r.full_top1, 2))
                    .arg(r.eval_images)
                    .arg(QString::fromStdString(r.eval_split));
    if (!r.subsets.empty()) {
        const experiment::StudyArm* nose = nullptr;
        for (const auto& a : r.arms)
            if (a.selector == "nose") nose = &a;
        s += tr("<br>All %1 subsets: Spearman(T, zero-shot top-1) = <b>%2</b>; a random subset scores %3% on average.")
                 .arg(r.subsets.size())
                 .arg(num(r.spearman_t_top1, 3))
                 .arg(num(r.random_expected, 2));
        if (nose)
            s += tr(" NOSE ranks <b>%1</b> of %2 (percentile %3).")
                     .arg(nose->rank)
                     .arg(r.subsets.size())
                     .arg(num(nose->percentile, 1));
    }
    if (std::isfinite(r.control_finetuned))
        s += tr("<br>Fine-tuned %1 epoch(s); control (nothing removed): %2%.")
                 .arg(r.finetune_epochs)
                 .arg(num(r.control_finetuned, 2));
    for (const auto& n : r.notes) s += "<br>" + QString::fromStdString(n).toHtmlEscaped();
    if (partial) s += tr("<br><i>running...</i>");
    summary_->setText(s);
    drawScatter(r);
    drawBars(r);
    fillTable(r);
}

void StudyView::drawScatter(const experiment::StudyResult& r) {
    scatter_->clearGraphs();
    scatter_->clearItems();
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    auto extend = [&](double x, double y) {
        if (!std::isfinite(x) || !std::isfinite(y)) return;
        xlo = std::min(xlo, x), xhi = std::max(xhi, x), ylo = std::min(ylo, y), yhi = std::max(yhi, y);
    };
    if (!r.subsets.empty()) {
        auto* g = scatter_->addGraph();
        g->setName(tr("all %1 subsets").arg(r.subsets.size()));
        g->setLineStyle(QCPGraph::lsNone);
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, QColor(150, 150, 150, 140), 4));
        QVector<double> x, y;
        for (const auto& p : r.subsets) {
            x << p.t;
            y << p.zero_shot;
            extend(p.t, p.zero_shot);
        }
        g->setData(x, y, /*alreadySorted=*/false);
    }
    std::vector<std::string> names;
    for (const auto& a : r.arms)
        if (std::find(names.begin(), names.end(), a.selector) == names.end()) names.push_back(a.selector);
    for (const auto& name : names) {
        const int idx = selectorIndex(name);
        auto* g = scatter_->addGraph();
        g->setName(QString::fromStdString(name));
        g->setLineStyle(QCPGraph::lsNone);
        QCPScatterStyle st(shapeFor(idx), QColor(seriesColor(idx)), QColor(seriesColor(idx)), 10);
        st.setPen(QPen(QColor(seriesColor(idx)), 2));
        g->setScatterStyle(st);
        QVector<double> x, y;
        for (const auto& a : r.arms)
            if (a.selector == name) {
                x << a.t;
                y << a.zero_shot;
                extend(a.t, a.zero_shot);
            }
        g->setData(x, y, false);
    }
    if (std::isfinite(r.full_top1)) {
        auto* line = new QCPItemStraightLine(scatter_);
        line->point1->setCoords(0, r.full_top1);
        line->point2->setCoords(1, r.full_top1);
        line->setPen(QPen(QColor(seriesColor(0)), 1, Qt::DashLine));
        auto* label = new QCPItemText(scatter_);
        label->position->setType(QCPItemPosition::ptAxisRectRatio);
        label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
        label->position->setCoords(0.01, 0.01);
        label->setText(tr("dashed: full model %1%").arg(num(r.full_top1, 2)));
        label->setColor(scatter_->xAxis->labelColor());
        ylo = std::min(ylo, r.full_top1), yhi = std::max(yhi, r.full_top1);
    }
    if (std::isfinite(xlo)) {
        const double dx = std::max(1e-3, 0.05 * (xhi - xlo)), dy = std::max(0.5, 0.08 * (yhi - ylo));
        scatter_->xAxis->setRange(xlo - dx, xhi + dx);
        scatter_->yAxis->setRange(ylo - dy, yhi + 2 * dy);
    }
    showLegendBelow(scatter_);
    scatter_->legend->setWrap(3);  // rows of three: the subsets and up to eight selectors, never cut
    scatter_->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst, true);
    scatter_->replot();
}

void StudyView::drawBars(const experiment::StudyResult& r) {
    bars_->clearPlottables();
    bars_->clearItems();
    const auto sum = experiment::summarize(r);
    if (sum.empty()) {
        bars_->replot();
        return;
    }
    const bool ft = std::any_of(sum.begin(), sum.end(), [](const auto& s) { return std::isfinite(s.finetuned_mean); });
    QVector<double> ticks;
    QVector<QString> labels;
    for (size_t i = 0; i < sum.size(); ++i) {
        ticks << double(i);
        labels << QString::fromStdString(sum[i].selector);
    }
    auto* group = new QCPBarsGroup(bars_);
    double lo = INFINITY, hi = -INFINITY;
    auto addSet = [&](const QString& name, int color, auto mean, auto mn, auto mx) {
        auto* b = new QCPBars(bars_->xAxis, bars_->yAxis);
        b->setName(name);
        b->setBrush(QColor(seriesColor(color)));
        b->setPen(Qt::NoPen);
        b->setWidth(ft ? 0.38 : 0.6);
        b->setBarsGroup(group);
        auto* e = new QCPErrorBars(bars_->xAxis, bars_->yAxis);
        e->removeFromLegend();
        e->setDataPlottable(b);
        e->setPen(QPen(bars_->xAxis->basePen().color(), 1.2));
        QVector<double> v, eneg, epos;
        for (const auto& s : sum) {
            const double m = mean(s), a = mn(s), z = mx(s);
            v << (std::isfinite(m) ? m : 0);
            eneg << (std::isfinite(a) ? m - a : 0);
            epos << (std::isfinite(z) ? z - m : 0);
            if (std::isfinite(a)) lo = std::min(lo, a), hi = std::max(hi, z);
        }
        b->setData(ticks, v);
        e->setData(eneg, epos);
    };
    addSet(
        tr("zero-shot"), 0, [](const auto& s) { return s.zero_shot_mean; },
        [](const auto& s) { return s.zero_shot_min; }, [](const auto& s) { return s.zero_shot_max; });
    if (ft)
        addSet(
            tr("fine-tuned"), 1, [](const auto& s) { return s.finetuned_mean; },
            [](const auto& s) { return s.finetuned_min; }, [](const auto& s) { return s.finetuned_max; });
    auto hline = [&](double y, int color, const QString& text, double at) {
        if (!std::isfinite(y)) return;
        auto* line = new QCPItemStraightLine(bars_);
        line->point1->setCoords(0, y);
        line->point2->setCoords(1, y);
        line->setPen(QPen(QColor(seriesColor(color)), 1, Qt::DashLine));
        auto* label = new QCPItemText(bars_);
        label->position->setType(QCPItemPosition::ptAxisRectRatio);
        label->setPositionAlignment(Qt::AlignRight | Qt::AlignTop);
        label->position->setCoords(0.99, at);
        label->setText(text);
        label->setColor(QColor(seriesColor(color)));
        lo = std::min(lo, y), hi = std::max(hi, y);
    };
    hline(r.full_top1, 0, tr("- - full model %1%").arg(num(r.full_top1, 2)), 0.01);
    if (ft) hline(r.control_finetuned, 1, tr("- - control, fine-tuned %1%").arg(num(r.control_finetuned, 2)), 0.07);
    QSharedPointer<QCPAxisTickerText> t(new QCPAxisTickerText);
    t->addTicks(ticks, labels);
    bars_->xAxis->setTicker(t);
    bars_->xAxis->setTickLabelRotation(sum.size() > 6 ? -35 : 0);  // negative: each label ends at its bar
    bars_->xAxis->setRange(-0.6, double(sum.size()) - 0.4);
    if (std::isfinite(lo)) {
        const double pad = std::max(1.0, 0.1 * (hi - lo));
        bars_->yAxis->setRange(std::max(0.0, lo - 2 * pad), std::min(100.0, hi + 2.5 * pad));
    }
    showLegendBelow(bars_);
    bars_->replot();
}

void StudyView::fillTable(const experiment::StudyResult& r) {
    table_->setRowCount(0);
    auto add = [&](const QStringList& cells) {
        const int row = table_->rowCount();
        table_->insertRow(row);
        for (int c = 0; c < cells.size(); ++c) table_->setItem(row, c, new QTableWidgetItem(cells[c]));
    };
    for (const auto& a : r.arms) {
        const QString name =
            a.selector == "random" ? tr("random (seed %1)").arg(a.seed) : QString::fromStdString(a.selector);
        add({name, blockSetText(a.blocks), num(a.t, 4), num(a.zero_shot, 2),
             a.rank > 0 ? tr("%1 of %2").arg(a.rank).arg(r.subsets.size()) : QString(), num(a.finetuned, 2)});
    }
    if (std::isfinite(r.control_finetuned))
        add({tr("control (nothing removed)"), "{}", "", "", "", num(r.control_finetuned, 2)});
}

}  // namespace dilute::gui
