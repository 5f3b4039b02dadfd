#include "projectpanel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QImage>
#include <QLabel>
#include <QLineEdit>
#include <QPixmap>
#include <QPushButton>
#include <QSpinBox>
#include <QThread>
#include <QVBoxLayout>

#include "data/dataset.h"
#include "model/preset.h"
#include "util/error.h"

namespace dilute::gui {

ProjectPanel::ProjectPanel(QWidget* parent) : QWidget(parent) {
    model_ = new QComboBox(this);
    model_->setEditable(true);
    for (const auto& n : model::presetNames()) model_->addItem(QString::fromStdString(n));
    model_->setCurrentText("vit_nano_patch7_28");
    model_->setToolTip("A preset (fresh weights) or a .safetensors file (ours or timm's)");
    model_->setMinimumContentsLength(18);
    auto* browseModel = new QPushButton("...", this);
    browseModel->setToolTip("Choose a weights file");
    browseModel->setMaximumWidth(32);
    data_ = new QLineEdit("fashion-mnist", this);
    data_->setToolTip("Dataset URI: fashion-mnist | mnist:DIR | idx:DIR | cifar10:DIR | cifar100:DIR | folder:DIR");
    auto* browseData = new QPushButton("...", this);
    browseData->setToolTip("Choose an image folder (one sub-folder per class)");
    browseData->setMaximumWidth(32);
    device_ = new QComboBox(this);
    device_->addItems({"auto", "cpu", "cuda"});
    threads_ = new QSpinBox(this);
    threads_->setRange(0, QThread::idealThreadCount() * 2);
    threads_->setValue(0);
    threads_->setSpecialValueText("all cores");
    dataInfo_ = new QLabel(this);
    dataInfo_->setWordWrap(true);
    grid_ = new QGridLayout;
    grid_->setSpacing(4);

    auto* mrow = new QHBoxLayout;
    mrow->addWidget(model_, 1);
    mrow->addWidget(browseModel);
    auto* drow = new QHBoxLayout;
    drow->addWidget(data_, 1);
    drow->addWidget(browseData);
    auto* form = new QFormLayout;
    form->addRow("Model", mrow);
    form->addRow("Data", drow);
    form->addRow("Device", device_);
    form->addRow("Threads", threads_);
    auto* v = new QVBoxLayout(this);
    v->addLayout(form);
    v->addWidget(new QLabel("<b>Preview</b> (test split)", this));
    v->addWidget(dataInfo_);
    v->addLayout(grid_);
    v->addStretch(1);
    setMinimumWidth(250);

    connect(browseModel, &QPushButton::clicked, this, [this] {
        const QString f = QFileDialog::getOpenFileName(this, "Weights", QString(), "safetensors (*.safetensors)");
        if (!f.isEmpty()) setModel(f);
    });
    connect(browseData, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, "Image folder");
        if (!d.isEmpty()) setData("folder:" + d);
    });
    connect(model_, &QComboBox::currentTextChanged, this, &ProjectPanel::changed);
    connect(data_, &QLineEdit::editingFinished, this, [this] {
        refreshPreview();
        Q_EMIT changed();
    });
    connect(threads_, qOverload<int>(&QSpinBox::valueChanged), this, &ProjectPanel::threadsChanged);
}

QString ProjectPanel::model() const { return model_->currentText().trimmed(); }
QString ProjectPanel::data() const { return data_->text().trimmed(); }
QString ProjectPanel::device() const { return device_->currentText(); }
int ProjectPanel::threads() const { return threads_->value(); }
void ProjectPanel::setModel(const QString& m) { model_->setCurrentText(m); }

void ProjectPanel::setData(const QString& uri) {
    data_->setText(uri);
    refreshPreview();
    Q_EMIT changed();
}

int ProjectPanel::refreshPreview() {
    while (auto* item = grid_->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    try {
        auto ds = data::openDataset(data().toStdString(), "test");
        dataInfo_->setText(QString::fromStdString(ds->describe()));
        const auto names = ds->classNames();
        const int n = int(std::min<size_t>(8, ds->size()));
        for (int i = 0; i < n; ++i) {
            auto* pic = new QLabel(this);
            pic->setAlignment(Qt::AlignCenter);
            try {
                const auto im = ds->image(size_t(i));
                QImage q(im.pixels.data(), im.width, im.height, im.width * im.channels,
                         im.channels == 1 ? QImage::Format_Grayscale8 : (im.bgr ? QImage::Format_BGR888 : QImage::Format_RGB888));
                pic->setPixmap(QPixmap::fromImage(q.copy()).scaled(56, 56, Qt::KeepAspectRatio, Qt::SmoothTransformation));
            } catch (const Error& e) {  // one bad file: the loader will skip it, the preview says so
                pic->setText("undecodable");
                pic->setMinimumSize(56, 56);
                pic->setToolTip(QString::fromStdString(e.what()));
            }
            auto* lab = new QLabel(QString::fromStdString(names[size_t(ds->label(size_t(i)))]), this);
            lab->setAlignment(Qt::AlignCenter);
            QFont f = lab->font();
            f.setPointSizeF(f.pointSizeF() * 0.85);
            lab->setFont(f);
            auto* cell = new QWidget(this);
            auto* cv = new QVBoxLayout(cell);
            cv->setContentsMargins(0, 0, 0, 0);
            cv->addWidget(pic);
            cv->addWidget(lab);
            grid_->addWidget(cell, i / 4, i % 4);
        }
        return n;
    } catch (const std::exception& e) {
        dataInfo_->setText(QString("<span style='color:#b00'>%1</span>").arg(QString::fromStdString(e.what()).toHtmlEscaped()));
        return 0;
    }
}

}  // namespace dilute::gui
