#include "inspectview.h"

#include <qcustomplot.h>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QListWidget>
#include <QMouseEvent>
#include <QPushButton>
#include <QScrollArea>
#include <QTableWidget>
#include <QVBoxLayout>

#include <cmath>

#include "inspect/optiontable.h"
#include "optionform.h"
#include "plotutil.h"

namespace dilute::gui {

namespace {
QLabel* pictureLabel(const QString& tip, QWidget* parent) {
    auto* l = new QLabel(parent);
    l->setAlignment(Qt::AlignCenter);
    l->setMinimumSize(160, 160);
    l->setToolTip(tip);
    return l;
}
}  // namespace

InspectView::InspectView(QWidget* parent) : QWidget(parent) {
    form_ = new OptionForm(inspect::inspectOptionTable(), this);
    run_ = new QPushButton(tr("Inspect"), this);
    run_->setShortcut(QKeySequence("Ctrl+I"));
    run_->setToolTip(tr("Attention maps, rollout and mean attention distance on the chosen images (Ctrl+I)"));
    summary_ = new QLabel(tr("No inspection yet.\nChoose a model and data under Project, then Inspect (Ctrl+I).\n"
                             "With \"Compare with\", the images whose prediction changes come first."),
                          this);
    summary_->setWordWrap(true);
    thumbs_ = new QListWidget(this);
    thumbs_->setViewMode(QListView::IconMode);
    thumbs_->setIconSize(QSize(56, 56));
    thumbs_->setGridSize(QSize(96, 96));
    thumbs_->setResizeMode(QListView::Adjust);
    thumbs_->setMovement(QListView::Static);
    thumbs_->setWordWrap(true);
    thumbs_->setMinimumWidth(214);
    thumbs_->setMaximumWidth(214);
    connect(thumbs_, &QListWidget::currentRowChanged, this, [this](int row) {
        if (row >= 0) showImage(thumbs_->item(row)->data(Qt::UserRole).toInt());
    });
    image_ = pictureLabel(tr("The chosen image with its attention rollout (click a map on the right to enlarge it; "
                             "click here to go back to the rollout)"),
                          this);
    image_->installEventFilter(this);
    imageCaption_ = new QLabel(this);
    imageCaption_->setAlignment(Qt::AlignCenter);
    imageCaption_->setWordWrap(true);
    heads_ = pictureLabel(tr("Class-token attention of every block (rows) and head (columns); click one to enlarge it"),
                          this);
    heads_->installEventFilter(this);
    dist_ = makePlot(tr("Mean attention distance"), tr("head | average"), tr("block"), this);
    dist_->setToolTip(
        tr("Mean attention distance in input pixels per block and head (patch queries, patch keys). "
           "Click a block to select it for dilution; the selection is the Analysis view's."));
    distMap_ = addColorMap(dist_, tr("pixels"));
    dist_->installEventFilter(this);
    blocks_ = makePlot(tr("Which attention is dispensable"), tr("block"), tr("/ largest block"), this);
    blocks_->setToolTip(
        tr("Per block, each divided by its largest block: the mean attention distance, and from the "
           "project's analysis T({i}) and the attention entropy"));
    confusion_ = new QTableWidget(this);
    confusion_->setToolTip(
        tr("Confusion-matrix difference: the second model's count minus this model's "
           "(rows: label, columns: prediction)"));
    confusion_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    confusion_->horizontalHeader()->setMinimumSectionSize(20);
    confusion_->verticalHeader()->setMinimumSectionSize(16);
    confusion_->setVisible(false);
    connect(run_, &QPushButton::clicked, this, [this] { Q_EMIT inspectRequested(options()); });

    auto* side = new QVBoxLayout;
    auto* scroll = scrollingPanel(form_, this);
    side->addWidget(scroll, 1);
    side->addWidget(run_);
    side->addWidget(makeProgressLabel(this));
    side->addWidget(summary_);
    side->addWidget(confusion_);
    auto* sideBox = new QWidget(this);
    sideBox->setLayout(side);
    sideBox->setMaximumWidth(270);
    auto* picture = new QVBoxLayout;
    picture->addWidget(image_, 1);
    picture->addWidget(imageCaption_);
    auto* grid = new QGridLayout;
    grid->addWidget(thumbs_, 0, 0, 2, 1);
    grid->addLayout(picture, 0, 1);
    grid->addWidget(heads_, 0, 2);
    grid->addWidget(dist_, 1, 1);
    grid->addWidget(blocks_, 1, 2);
    grid->setColumnStretch(1, 1);
    grid->setColumnStretch(2, 1);
    grid->setRowStretch(0, 1);
    grid->setRowStretch(1, 1);
    auto* top = new QHBoxLayout(this);
    top->addLayout(grid, 1);
    top->addWidget(sideBox);
    setResult({});
}

QList<QCustomPlot*> InspectView::plots() const { return {dist_, blocks_}; }

inspect::InspectOptions InspectView::options() const {
    inspect::InspectOptions o;
    form_->store(o);
    return o;
}

void InspectView::setBusy(bool busy) { run_->setEnabled(!busy); }

void InspectView::setResult(const inspect::InspectResult& r, bool partial) {
    const bool sameImages = hasResult() && r.images.size() >= result_.images.size() && r.model == result_.model;
    result_ = r;
    partial_ = partial;
    fillImages();
    if (!hasResult())
        current_ = -1;
    else if (!sameImages || current_ < 0 || current_ >= int(r.images.size()))
        current_ = thumbs_->count() ? thumbs_->item(0)->data(Qt::UserRole).toInt() : 0;
    mapBlock_ = mapHead_ = -1;
    drawDistance();
    drawBlocks();
    drawImage();
    drawHeadGrid();
    drawConfusion();
}

void InspectView::setAnalysis(const analysis::AnalysisResult& a) {
    analysis_ = a;
    drawBlocks();
}

void InspectView::setSelection(const std::vector<int>& blocks) {
    selected_ = std::set<int>(blocks.begin(), blocks.end());
    drawMarks();
}

void InspectView::toggleBlock(int block) {
    if (block < 0 || block >= result_.depth) return;
    if (!selected_.erase(block)) selected_.insert(block);
    drawMarks();
    Q_EMIT selectionChanged(selection());
}

void InspectView::showImage(int position) {
    if (position < 0 || position >= int(result_.images.size())) return;
    current_ = position;
    mapBlock_ = mapHead_ = -1;
    drawImage();
    drawHeadGrid();
}

void InspectView::showMap(int block, int head) {
    mapBlock_ = block;
    mapHead_ = head;
    drawImage();
}

int InspectView::blockAt(const QPoint& pixel) const {
    if (!hasResult() || !dist_->axisRect()->rect().contains(pixel)) return -1;
    const int b = int(std::lround(dist_->yAxis->pixelToCoord(pixel.y())));
    return b >= 0 && b < result_.depth ? b : -1;
}

void InspectView::resizeEvent(QResizeEvent* event) {
    QWidget::resizeEvent(event);
    drawImage();
    drawHeadGrid();
}

void InspectView::showEvent(QShowEvent* event) {
    QWidget::showEvent(event);
    drawImage();
    drawHeadGrid();
}

bool InspectView::eventFilter(QObject* watched, QEvent* event) {
    if (event->type() != QEvent::MouseButtonPress || !hasResult()) return QWidget::eventFilter(watched, event);
    const auto* e = static_cast<QMouseEvent*>(event);
    if (watched == dist_) {
        toggleBlock(blockAt(e->pos()));
        return true;
    }
    if (watched == image_) {
        showMap(-1, -1);
        return true;
    }
    if (watched == heads_ && !result_.cls.empty() && !heads_->pixmap().isNull()) {
        // The grid is centred in the label: cell size from the pixmap, offset from the margins.
        const QSize pm = heads_->pixmap().deviceIndependentSize().toSize();
        const QPoint origin((heads_->width() - pm.width()) / 2, (heads_->height() - pm.height()) / 2);
        const QPoint p = e->pos() - origin;
        const int h = p.x() * result_.heads / std::max(1, pm.width()),
                  l = p.y() * result_.depth / std::max(1, pm.height());
        if (p.x() >= 0 && p.y() >= 0 && h < result_.heads && l < result_.depth) showMap(l, h);
        return true;
    }
    return QWidget::eventFilter(watched, event);
}

}  // namespace dilute::gui
