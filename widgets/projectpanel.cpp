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
#include <QPointer>
#include <QPushButton>
#include <QSpinBox>
#include <QThread>
#include <QThreadPool>
#include <QVBoxLayout>

#include <memory>
#include <vector>

#include "data/dataset.h"
#include "modelpanel.h"
#include "util/error.h"

namespace dilute::gui {

ProjectPanel::ProjectPanel(QWidget* parent) : QWidget(parent) {
    model_ = new ModelPanel(this);
    data_ = new QLineEdit("fashion-mnist", this);
    data_->setObjectName("data");
    data_->setToolTip(tr("Dataset URI: fashion-mnist | mnist:DIR | idx:DIR | cifar10:DIR | cifar100:DIR | folder:DIR"));
    auto* browseData = new QPushButton("...", this);
    browseData->setToolTip(tr("Choose an image folder (one sub-folder per class)"));
    browseData->setMaximumWidth(32);
    device_ = new QComboBox(this);
    device_->addItems({"auto", "cpu", "cuda"});
    threads_ = new QSpinBox(this);
    threads_->setRange(0, QThread::idealThreadCount() * 2);
    threads_->setValue(0);
    threads_->setSpecialValueText(tr("all cores"));
    dataInfo_ = new QLabel(this);
    dataInfo_->setWordWrap(true);
    grid_ = new QGridLayout;
    grid_->setSpacing(4);

    auto* drow = new QHBoxLayout;
    drow->addWidget(data_, 1);
    drow->addWidget(browseData);
    auto* form = new QFormLayout;
    form->addRow(tr("Data"), drow);
    form->addRow(tr("Device"), device_);
    form->addRow(tr("Threads"), threads_);
    auto* v = new QVBoxLayout(this);
    v->addWidget(model_);
    v->addLayout(form);
    v->addWidget(new QLabel(tr("<b>Preview</b> (test split)"), this));
    v->addWidget(dataInfo_);
    v->addLayout(grid_);
    v->addStretch(1);
    setMinimumWidth(250);

    connect(browseData, &QPushButton::clicked, this, [this] {
        const QString d = QFileDialog::getExistingDirectory(this, tr("Image folder"));
        if (!d.isEmpty()) setData("folder:" + d);
    });
    connect(model_, &ModelPanel::changed, this, &ProjectPanel::changed);
    connect(data_, &QLineEdit::editingFinished, this, [this] {
        refreshPreview();
        Q_EMIT changed();
    });
    connect(threads_, qOverload<int>(&QSpinBox::valueChanged), this, &ProjectPanel::threadsChanged);
}

// QWidget's destructor hides the children after ours has run; the focused data field then emits
// editingFinished, whose handler would read members already destroyed and emit changed().
ProjectPanel::~ProjectPanel() { data_->disconnect(this); }

QString ProjectPanel::model() const { return model_->model(); }
io::ModelRef ProjectPanel::modelRef() const { return model_->ref(); }
QString ProjectPanel::data() const { return data_->text().trimmed(); }
QString ProjectPanel::device() const { return device_->currentText(); }
int ProjectPanel::threads() const { return threads_->value(); }
void ProjectPanel::setModel(const QString& m) { model_->setModel(m); }

void ProjectPanel::setData(const QString& uri) {
    data_->setText(uri);
    refreshPreview();
    Q_EMIT changed();
}

// What the preview shows, read on a pool thread: opening a large folder dataset scans it.
struct PreviewData {
    struct Item {
        QImage image;  // null: undecodable (see error)
        QString label, error;
    };
    QString describe, error;
    std::vector<Item> items;
};

namespace {
PreviewData loadPreview(const std::string& uri) {
    PreviewData out;
    try {
        auto ds = data::openDataset(uri, "test");
        out.describe = QString::fromStdString(ds->describe());
        const auto names = ds->classNames();
        const size_t n = std::min<size_t>(8, ds->size());
        for (size_t i = 0; i < n; ++i) {
            PreviewData::Item it;
            try {
                const auto im = ds->image(i);
                const QImage q(im.pixels.data(), im.width, im.height, im.width * im.channels,
                               im.channels == 1 ? QImage::Format_Grayscale8
                                                : (im.bgr ? QImage::Format_BGR888 : QImage::Format_RGB888));
                it.image = q.scaled(56, 56, Qt::KeepAspectRatio, Qt::SmoothTransformation).copy();
            } catch (const Error& e) {  // one bad file: the loader will skip it, the preview says so
                it.error = QString::fromStdString(e.what());
            }
            it.label = QString::fromStdString(names[size_t(ds->label(i))]);
            out.items.push_back(std::move(it));
        }
    } catch (const std::exception& e) {
        out.error = QString::fromStdString(e.what());
    }
    return out;
}
}  // namespace

void ProjectPanel::refreshPreview() {
    const int generation = ++previewGeneration_;
    shown_ = -1;
    dataInfo_->setText(tr("loading %1 ...").arg(data()));
    QPointer<ProjectPanel> self(this);
    const std::string uri = data().toStdString();
    QThreadPool::globalInstance()->start([self, uri, generation] {
        auto preview = std::make_shared<PreviewData>(loadPreview(uri));
        if (!self) return;
        QMetaObject::invokeMethod(
            self.data(),
            [self, preview, generation] {
                // A newer request (the data changed again) wins; this one is dropped.
                if (self && generation == self->previewGeneration_) self->showPreview(*preview);
            },
            Qt::QueuedConnection);
    });
}

void ProjectPanel::showPreview(const PreviewData& preview) {
    while (auto* item = grid_->takeAt(0)) {
        delete item->widget();
        delete item;
    }
    if (!preview.error.isEmpty()) {
        dataInfo_->setText(QString("<span style='color:#b00'>%1</span>").arg(preview.error.toHtmlEscaped()));
        shown_ = 0;
        Q_EMIT previewReady(0);
        return;
    }
    dataInfo_->setText(preview.describe);
    int i = 0;
    for (const auto& it : preview.items) {
        auto* pic = new QLabel(this);
        pic->setAlignment(Qt::AlignCenter);
        if (it.image.isNull()) {
            pic->setText(tr("undecodable"));
            pic->setMinimumSize(56, 56);
            pic->setToolTip(it.error);
        } else {
            pic->setPixmap(QPixmap::fromImage(it.image));
        }
        auto* lab = new QLabel(it.label, this);
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
        ++i;
    }
    shown_ = i;
    Q_EMIT previewReady(i);
}

}  // namespace dilute::gui
