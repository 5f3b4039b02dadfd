// The Inspect view's drawing: the image list (flips first), the chosen image with its rollout or
// an enlarged class-token map, the blocks x heads grid of maps, the mean-distance heatmap with the
// selected blocks marked, and the per-block comparison with the analysis.
#include "inspectview.h"

#include <qcustomplot.h>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QTableWidget>

#include <algorithm>
#include <cmath>

#include "inspect/overlay.h"
#include "plotutil.h"

namespace dilute::gui {

namespace {
QImage rgbImage(const std::vector<unsigned char>& px, int t) {
    return QImage(px.data(), t, t, 3 * t, QImage::Format_RGB888).copy();
}
}  // namespace

QString InspectView::imageText(int i) const {
    const auto& im = result_.images[size_t(i)];
    auto name = [&](int c) {
        return c < 0                                 ? QString("?")
               : c < int(result_.class_names.size()) ? QString::fromStdString(result_.class_names[size_t(c)])
                                                     : QString::number(c);
    };
    // Short, for the thumbnail: "#6 Pullover" then the verdicts; `full`: with the predicted names.
    auto mark = [&](int pred) {
        return im.label < 0 ? name(pred) : pred == im.label ? QString("✓") : QString("✗ ") + name(pred);
    };
    QString t = QString("#%1 %2").arg(i).arg(im.label >= 0 ? name(im.label) : tr("unlabelled"));
    if (im.pred >= 0) t += "\n" + mark(im.pred);
    if (result_.compared && im.pred_vs >= 0) t += " → " + mark(im.pred_vs);
    return t;
}

void InspectView::fillImages() {
    const QSignalBlocker block(thumbs_);
    thumbs_->clear();
    std::vector<int> order;
    if (result_.compared) {  // what changed first: right -> wrong, wrong -> right, then the largest changes
        const auto& c = result_.comparison;
        order = c.right_to_wrong;
        order.insert(order.end(), c.wrong_to_right.begin(), c.wrong_to_right.end());
        for (int i : c.largest_changes)
            if (std::find(order.begin(), order.end(), i) == order.end()) order.push_back(i);
    }
    for (int i = 0; i < int(result_.images.size()); ++i)
        if (std::find(order.begin(), order.end(), i) == order.end()) order.push_back(i);
    const int t = result_.thumb;
    const std::set<int> r2w(result_.comparison.right_to_wrong.begin(), result_.comparison.right_to_wrong.end());
    for (int i : order) {
        if (size_t(i + 1) * t * t * 3 > result_.thumbnails.size()) continue;  // still computing
        const auto* px = result_.thumbnails.data() + size_t(i) * t * t * 3;
        auto* item = new QListWidgetItem(
            QIcon(QPixmap::fromImage(rgbImage({px, px + size_t(t) * t * 3}, t).scaled(64, 64))), imageText(i));
        item->setData(Qt::UserRole, i);
        item->setToolTip(QString::fromStdString(result_.images[size_t(i)].source));
        if (result_.compared && result_.images[size_t(i)].pred != result_.images[size_t(i)].pred_vs)
            item->setBackground(QColor(r2w.count(i) ? "#f8d0d0" : "#d0f0d0"));
        thumbs_->addItem(item);
    }
    QString s;
    if (!hasResult()) {
        s = summary_->text();
    } else if (result_.compared) {
        const auto& c = result_.comparison;
        s = tr("%1 images: top-1 %2% (this model) vs %3% (%4)\nright → wrong: %5 (red)\nwrong → right: %6 (green)")
                .arg(result_.images.size())
                .arg(c.top1, 0, 'f', 1)
                .arg(c.top1_vs, 0, 'f', 1)
                .arg(QString::fromStdString(c.vs))
                .arg(c.right_to_wrong.size())
                .arg(c.wrong_to_right.size());
        if (!c.largest_changes.empty()) {
            const auto& im = result_.images[size_t(c.largest_changes.front())];
            s += tr("\nlargest change of p(label): #%1, %2 → %3")
                     .arg(c.largest_changes.front())
                     .arg(im.p_label, 0, 'f', 2)
                     .arg(im.p_label_vs, 0, 'f', 2);
        }
    } else {
        s = tr("%1 images of %2%3")
                .arg(result_.images.size())
                .arg(QString::fromStdString(result_.input.empty() ? result_.data + " " + result_.split : result_.input))
                .arg(partial_ ? tr(" (computing...)") : QString());
    }
    summary_->setText(s);
}

void InspectView::drawImage() {
    if (current_ < 0 || !hasResult() || size_t(current_ + 1) * result_.patches() > result_.rollout.size()) {
        image_->setPixmap(QPixmap());
        image_->setText(tr("No image yet"));
        imageCaption_->clear();
        return;
    }
    const int t = result_.thumb;
    const unsigned char* rgb = result_.thumbnails.data() + size_t(current_) * t * t * 3;
    const bool cls = mapBlock_ >= 0 && !result_.cls.empty();
    const float* map =
        cls ? result_.clsMap(size_t(current_), mapBlock_, mapHead_) : result_.rolloutMap(size_t(current_));
    const int side = std::max(64, std::min(image_->width(), image_->height()) - 8);
    image_->setPixmap(QPixmap::fromImage(rgbImage(inspect::overlayMap(rgb, t, map, result_.grid), t))
                          .scaled(side, side, Qt::KeepAspectRatio, Qt::FastTransformation));
    const QString what = cls ? tr("block %1, head %2: class-token attention (%3)")
                                   .arg(mapBlock_)
                                   .arg(mapHead_)
                                   .arg(QString::fromStdString(result_.modes[size_t(mapBlock_)]))
                             : tr("attention rollout through all %1 blocks").arg(result_.depth);
    imageCaption_->setText(imageText(current_).replace('\n', ", ") + "\n" + what);
}

void InspectView::drawHeadGrid() {
    if (current_ < 0 || !hasResult() || result_.cls.empty() ||
        size_t(current_ + 1) * result_.depth * result_.heads * result_.patches() > result_.cls.size()) {
        heads_->setPixmap(QPixmap());
        heads_->setText(hasResult() && result_.cls.empty() ? tr("This model has no class token:\nno class-token "
                                                                "maps\n(the rollout is the mean over the patch rows)")
                                                           : tr("Class-token maps appear here"));
        return;
    }
    const int t = result_.thumb, L = result_.depth, H = result_.heads;
    QImage grid(H * t, L * t, QImage::Format_RGB888);
    const unsigned char* rgb = result_.thumbnails.data() + size_t(current_) * t * t * 3;
    QPainter p(&grid);
    for (int l = 0; l < L; ++l)
        for (int h = 0; h < H; ++h)
            p.drawImage(h * t, l * t,
                        rgbImage(inspect::overlayMap(rgb, t, result_.clsMap(size_t(current_), l, h), result_.grid), t));
    p.end();
    const QSize room = heads_->size() - QSize(8, 8);
    QPixmap shown = QPixmap::fromImage(grid).scaled(room, Qt::KeepAspectRatio, Qt::SmoothTransformation);
    QPainter labels(&shown);  // b<block> on each row, h<head> on each column
    labels.setPen(Qt::white);
    const double cw = double(shown.width()) / H, ch = double(shown.height()) / L;
    for (int l = 0; l < L; ++l) labels.drawText(QPointF(2, l * ch + ch - 4), QString("b%1").arg(l));    // bottom left
    for (int h = 0; h < H; ++h) labels.drawText(QPointF(h * cw + cw - 20, 12), QString("h%1").arg(h));  // top right
    labels.end();
    heads_->setPixmap(shown);
}

void InspectView::drawDistance() {
    const int L = result_.depth, H = result_.heads;
    dist_->clearItems();
    distMap_->setVisible(L > 0);
    distMap_->colorScale()->setVisible(L > 0);
    if (L == 0) {
        emptyStateText(dist_, tr("Mean attention\ndistance appears here"));
        dist_->replot();
        return;
    }
    auto g = distMap_->gradient();
    g.setNanHandling(QCPColorGradient::nhTransparent);  // a removed block has no attention
    distMap_->setGradient(g);
    distMap_->data()->setSize(H + 1, L);
    distMap_->data()->setRange(QCPRange(0, H), QCPRange(0, L - 1));
    for (int l = 0; l < L; ++l) {
        double sum = 0;
        for (int h = 0; h < H; ++h) {
            const double v = result_.mean_distance[size_t(l * H + h)];
            distMap_->data()->setCell(h, l, v);
            sum += v;
        }
        distMap_->data()->setCell(H, l, sum / H);
    }
    distMap_->rescaleDataRange(true);
    QSharedPointer<QCPAxisTickerText> xt(new QCPAxisTickerText);
    for (int h = 0; h < H; ++h) xt->addTick(h, QString("h%1").arg(h));
    xt->addTick(H, tr("avg"));
    dist_->xAxis->setTicker(xt);
    integerTicks(dist_->yAxis, L);
    dist_->xAxis->setRange(-0.5, H + 0.5);
    dist_->yAxis->setRange(-0.5, L - 0.5);
    drawMarks();
}

// The selected blocks outlined on the heatmap, removed and diluted blocks named on their row.
void InspectView::drawMarks() {
    dist_->clearItems();
    const int L = result_.depth, H = result_.heads;
    if (L == 0) {
        emptyStateText(dist_, tr("Mean attention\ndistance appears here"));
        dist_->replot();
        return;
    }
    for (int l = 0; l < L; ++l) {
        if (selected_.count(l)) {
            auto* r = new QCPItemRect(dist_);
            r->topLeft->setCoords(-0.5, l - 0.5);
            r->bottomRight->setCoords(H + 0.5, l + 0.5);
            r->setPen(QPen(QColor(220, 40, 40), 3));
        }
        if (result_.modes[size_t(l)] == "full") continue;
        auto* t = new QCPItemText(dist_);
        t->position->setCoords(H / 2.0, l);
        t->setText(result_.modes[size_t(l)] == "removed"
                       ? tr("removed")
                       : tr("diluted, lambda %1").arg(result_.lambdas[size_t(l)], 0, 'f', 2));
        t->setColor(palette().color(QPalette::WindowText));
    }
    dist_->replot();
}

void InspectView::drawBlocks() {
    blocks_->clearPlottables();
    blocks_->clearItems();
    const int L = result_.depth, H = result_.heads;
    if (L == 0) {
        emptyStateText(blocks_, tr("Distance per block,\nbeside T({i}) and entropy"));
        blocks_->replot();
        return;
    }
    std::vector<double> dist(size_t(L), NAN);
    for (int l = 0; l < L; ++l) {
        double s = 0;
        for (int h = 0; h < H; ++h) s += result_.mean_distance[size_t(l * H + h)];
        dist[size_t(l)] = s / H;
    }
    double low = 0;
    QStringList scales;
    auto addSeries = [&](const std::vector<double>& v, const QString& what, const QString& unit, int colour) {
        double top = 0;
        for (double x : v)
            if (std::isfinite(x)) top = std::max(top, std::fabs(x));
        if (top <= 0) return;
        auto* g = blocks_->addGraph();
        g->setName(what);
        scales << QString("%1: largest |value| %2 %3").arg(what).arg(top, 0, 'f', 2).arg(unit);
        g->setPen(QPen(QColor(seriesColor(colour)), 2));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
        for (int l = 0; l < int(v.size()); ++l)
            if (std::isfinite(v[size_t(l)])) g->addData(l, v[size_t(l)] / top), low = std::min(low, v[size_t(l)] / top);
    };
    addSeries(dist, tr("dist"), tr("px"), 0);
    const bool analysed = analysis_.profile.depth == L;
    if (analysed) {
        addSeries(analysis_.t_single, tr("T({i})"), tr("nats"), 1);
        addSeries(analysis_.profile.attn, tr("H attn"), tr("nats"), 2);
    } else {
        emptyStateText(blocks_, tr("Analyze this model to see\nT({i}) and entropy here"))
            ->position->setCoords(0.5, 0.85);
    }
    blocks_->setToolTip(tr("Per block, each divided by its largest |value|:\n") + scales.join("\n"));
    showLegendBelow(blocks_);
    integerTicks(blocks_->xAxis, L);
    blocks_->xAxis->setRange(-0.5, L - 0.5);
    blocks_->yAxis->setRange(low < 0 ? low - 0.08 : 0, 1.08);  // entropies may be negative (nats)
    blocks_->replot();
}

// The confusion-matrix difference (second model minus this one): gains on the diagonal green,
// losses red, off the diagonal the other way round; zeros left blank.
void InspectView::drawConfusion() {
    const int C = result_.classes;
    const auto& cc = result_.comparison;
    const bool shown = result_.compared && C > 0 && C <= 20 && cc.confusion.size() == size_t(C) * C &&
                       cc.confusion_vs.size() == size_t(C) * C;
    confusion_->setVisible(shown);  // (isVisible() is false while the view's tab is hidden)
    if (!shown) return;
    const auto& c = result_.comparison;
    confusion_->clear();
    confusion_->setRowCount(C);
    confusion_->setColumnCount(C);
    QStringList heads;
    for (int k = 0; k < C; ++k) heads << QString::number(k);
    confusion_->setHorizontalHeaderLabels(heads);
    confusion_->setVerticalHeaderLabels(heads);
    for (int a = 0; a < C; ++a)
        for (int b = 0; b < C; ++b) {
            const int d = c.confusion_vs[size_t(a * C + b)] - c.confusion[size_t(a * C + b)];
            auto* item = new QTableWidgetItem(d ? QString::number(d) : QString());
            item->setTextAlignment(Qt::AlignCenter);
            if (d) item->setBackground(QColor((d > 0) == (a == b) ? "#c8ecc8" : "#f4c8c8"));
            const auto name = [&](int k) {
                return k < int(result_.class_names.size()) ? QString::fromStdString(result_.class_names[size_t(k)])
                                                           : QString::number(k);
            };
            item->setToolTip(tr("label %1, predicted %2: %3 -> %4")
                                 .arg(name(a), name(b))
                                 .arg(c.confusion[size_t(a * C + b)])
                                 .arg(c.confusion_vs[size_t(a * C + b)]));
            confusion_->setItem(a, b, item);
        }
    confusion_->resizeColumnsToContents();
    confusion_->resizeRowsToContents();
}

}  // namespace dilute::gui
