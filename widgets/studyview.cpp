#include "studyview.h"

#include <qcustomplot.h>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QScrollArea>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

#include "experiment/optiontable.h"
#include "optionform.h"
#include "plotutil.h"
#include "util/error.h"

namespace dilute::gui {

StudyView::StudyView(QWidget* parent) : QWidget(parent) {
    folder_ = new QLineEdit("runs/study", this);
    folder_->setObjectName("studyFolder");
    folder_->setToolTip(
        tr("Folder for study.json, study.md, arms.csv, subsets.csv and the fine-tuning runs; a folder "
           "that holds a study is never replaced: the study goes to the next free name beside it"));
    auto* browse = new QPushButton(tr("Browse..."), this);
    connect(browse, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Study folder"), folder_->text());
        if (!d.isEmpty()) folder_->setText(d);
    });
    form_ = new OptionForm(experiment::studyOptionTable(), this);
    run_ = new QPushButton(tr("Run study"), this);
    run_->setObjectName("runStudy");
    run_->setToolTip(
        tr("Every selector's T(S) and zero-shot top-1 on the project's model, the exhaustive sweep "
           "and (with fine-tune epochs) the dilution runs; `dilute study` does the same"));
    connect(run_, &QPushButton::clicked, this, [this] { Q_EMIT studyRequested(options()); });
    open_ = new QPushButton(tr("Open study..."), this);
    open_->setToolTip(tr("Show a finished study (a folder holding study.json)"));
    connect(open_, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Study folder"), folder_->text());
        QString err;
        if (!d.isEmpty() && !openStudy(d, &err)) Q_EMIT failed(err);
    });
    summary_ = new QLabel(this);
    summary_->setWordWrap(true);
    summary_->setTextInteractionFlags(Qt::TextSelectableByMouse);

    scatter_ = makePlot(tr("T(S) against zero-shot top-1, every K-subset"), tr("transfer entropy T(S) (nats)"),
                        tr("top-1 right after skipping (%)"), this);
    emptyStateText(scatter_, tr("No study yet: choose K and run the study,\nor open a study folder"));
    bars_ = makePlot(tr("Top-1 per selector"), "", tr("top-1 (%), whiskers: lowest to highest arm"), this);
    emptyStateText(bars_, tr("Bars per selector appear here"));
    table_ = new QTableWidget(0, 6, this);
    table_->setHorizontalHeaderLabels({tr("selector"), tr("blocks"), tr("T(S)"), tr("zero-shot top-1"),
                                       tr("rank (subsets)"), tr("fine-tuned top-1")});
    table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    table_->setEditTriggers(QAbstractItemView::NoEditTriggers);
    table_->verticalHeader()->setVisible(false);

    auto* folderRow = new QHBoxLayout;
    folderRow->addWidget(folder_, 1);
    folderRow->addWidget(browse);
    auto* form = new QFormLayout;
    form->addRow(tr("Study folder"), folderRow);
    auto* buttons = new QHBoxLayout;
    buttons->addWidget(run_, 1);
    buttons->addWidget(open_);
    auto* left = new QVBoxLayout;
    // The form scrolls rather than squeezing its editors when the window is short.
    auto* scroll = scrollingPanel(form_, this);
    left->addLayout(form);
    left->addWidget(scroll, 1);
    left->addLayout(buttons);
    left->addWidget(makeProgressLabel(this));
    left->addWidget(summary_);
    auto* leftBox = new QWidget(this);
    leftBox->setLayout(left);
    leftBox->setMinimumWidth(350);
    leftBox->setMaximumWidth(470);

    auto* plots = new QSplitter(Qt::Horizontal, this);
    plots->addWidget(scatter_);
    plots->addWidget(bars_);
    auto* right = new QSplitter(Qt::Vertical, this);
    right->addWidget(plots);
    right->addWidget(table_);
    plots->setStretchFactor(0, 3);
    plots->setStretchFactor(1, 2);
    right->setStretchFactor(0, 3);
    right->setStretchFactor(1, 1);
    auto* top = new QHBoxLayout(this);
    top->addWidget(leftBox, 2);
    top->addWidget(right, 6);
}

experiment::StudyOptions StudyView::options() const {
    experiment::StudyOptions o;
    form_->store(o);
    o.out_dir = folder_->text().toStdString();
    return o;
}

void StudyView::setFolder(const QString& dir) { folder_->setText(dir); }
QString StudyView::folder() const { return folder_->text(); }
void StudyView::setBusy(bool busy) {
    run_->setEnabled(!busy);
    open_->setEnabled(!busy);
}

bool StudyView::openStudy(const QString& dir, QString* error) {
    try {
        setResult(experiment::readStudy(dir.toStdString()));
        folder_->setText(QFileInfo(dir).isDir() ? dir : QFileInfo(dir).absolutePath());
        return true;
    } catch (const std::exception& e) {
        if (error) *error = QString::fromStdString(e.what());
        return false;
    }
}

}  // namespace dilute::gui
