#include "modelpanel.h"

#include <QComboBox>
#include <QFileDialog>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QMenu>
#include <QPointer>
#include <QThreadPool>
#include <QTimer>
#include <QToolButton>
#include <QVBoxLayout>

#include <memory>

#include "model/preset.h"
#include "optionform.h"

// LibTorch has members called slots(): hide Qt's keyword macro while its headers are read.
#undef slots
#include "io/summary.h"
#include "io/weights.h"
#define slots Q_SLOTS

namespace dilute::gui {

namespace {

// The panel's form: every ModelRef option but the model itself (the combo box above it).
const std::vector<OptionSpec<io::ModelRef>>& openingTable() {
    static const auto table = [] {
        std::vector<OptionSpec<io::ModelRef>> t;
        for (auto s : io::modelRefOptionTable()) {
            if (s.name == "model") continue;
            s.cliOnly.clear();
            s.group = "Opening";
            t.push_back(std::move(s));
        }
        return t;
    }();
    return table;
}

}  // namespace

struct ModelSummary {
    io::SummaryRows rows;
    QString error;
};

ModelPanel::ModelPanel(QWidget* parent) : QWidget(parent) {
    model_ = new QComboBox(this);
    model_->setEditable(true);
    for (const auto& n : model::presetNames()) model_->addItem(QString::fromStdString(n));
    model_->setCurrentText("vit_nano_patch7_28");
    model_->setToolTip(
        tr("A preset (fresh weights), or a model to open: .safetensors, .pth/.pt/.bin, a timm hub or "
           "Hugging Face folder, a run folder"));
    model_->setMinimumContentsLength(18);
    auto* browse = new QToolButton(this);
    browse->setText("...");
    browse->setToolTip(tr("Open a model file or folder"));
    browse->setPopupMode(QToolButton::InstantPopup);
    auto* menu = new QMenu(browse);
    menu->addAction(tr("Model file..."), this, &ModelPanel::chooseFile);
    menu->addAction(tr("Model folder (timm hub, Hugging Face, run)..."), this, &ModelPanel::chooseFolder);
    browse->setMenu(menu);
    form_ = new OptionForm(openingTable(), this);
    summary_ = new QWidget(this);
    summary_->setObjectName("modelSummary");
    rows_ = new QFormLayout(summary_);
    rows_->setContentsMargins(0, 0, 0, 0);
    rows_->setVerticalSpacing(1);
    rows_->setRowWrapPolicy(QFormLayout::DontWrapRows);
    rows_->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    debounce_ = new QTimer(this);
    debounce_->setSingleShot(true);
    debounce_->setInterval(300);  // typing a path: describe once the user pauses

    auto* row = new QHBoxLayout;
    row->addWidget(model_, 1);
    row->addWidget(browse);
    auto* form = new QFormLayout;
    form->setContentsMargins(0, 0, 0, 0);
    form->addRow(tr("Model"), row);
    auto* v = new QVBoxLayout(this);
    v->setContentsMargins(0, 0, 0, 0);
    v->addLayout(form);
    v->addWidget(form_);
    v->addWidget(summary_);

    connect(model_, &QComboBox::currentTextChanged, this, [this] {
        debounce_->start();
        Q_EMIT changed();
    });
    connect(form_, &OptionForm::changed, this, [this] {
        debounce_->start();
        Q_EMIT changed();
    });
    connect(debounce_, &QTimer::timeout, this, &ModelPanel::describe);
    describe();
}

QString ModelPanel::model() const { return model_->currentText().trimmed(); }
void ModelPanel::setModel(const QString& m) { model_->setCurrentText(m); }

io::ModelRef ModelPanel::ref() const {
    io::ModelRef r;
    form_->store(r);
    r.model = model().toStdString();
    return r;
}

void ModelPanel::setRef(const io::ModelRef& r) {
    form_->load(r);
    setModel(QString::fromStdString(r.model));
    debounce_->start();
}

void ModelPanel::chooseFile() {
    const QString f = QFileDialog::getOpenFileName(this, tr("Open model"), QString(),
                                                   tr("Models (*.safetensors *.pth *.pt *.bin);;All files (*)"));
    if (!f.isEmpty()) setModel(f);
}

void ModelPanel::chooseFolder() {
    const QString d = QFileDialog::getExistingDirectory(this, tr("Open model folder"));
    if (!d.isEmpty()) setModel(d);
}

void ModelPanel::describe() {
    debounce_->stop();
    const int generation = ++generation_;
    loading_ = true;
    setRows({}, tr("reading %1 ...").arg(model()), false);
    QPointer<ModelPanel> self(this);
    const io::ModelRef r = ref();
    QThreadPool::globalInstance()->start([self, r, generation] {
        auto s = std::make_shared<ModelSummary>();
        try {
            io::ModelOrigin origin;
            const auto cfg = io::describeModel(r.model, io::openOptionsOf(r), &origin);
            s->rows = io::modelSummary(cfg, origin);
        } catch (const std::exception& e) {
            s->error = QString::fromStdString(e.what());
        }
        if (!self) return;
        QMetaObject::invokeMethod(
            self.data(),
            [self, s, generation] {
                if (self && generation == self->generation_) self->show(*s);  // a newer request wins
            },
            Qt::QueuedConnection);
    });
}

void ModelPanel::show(const ModelSummary& s) {
    loading_ = false;
    setRows(s.rows, s.error, !s.error.isEmpty());
    Q_EMIT summaryReady(s.error.isEmpty());
}

// One form row per summary row (a bold name, its text word-wrapped to the panel: long names may
// break after '_' and '/'), or one line of text (loading, or the error in red).
void ModelPanel::setRows(const Rows& rows, const QString& line, bool error) {
    while (rows_->rowCount() > 0) rows_->removeRow(0);
    lines_.clear();
    auto text = [this](const QString& t) {
        auto* l = new QLabel(summary_);
        QString shown = t;
        shown.replace('_', QString("_") + QChar(0x200B)).replace('/', QString("/") + QChar(0x200B));
        l->setTextFormat(Qt::PlainText);
        l->setText(shown);
        l->setWordWrap(true);
        l->setTextInteractionFlags(Qt::TextSelectableByMouse);
        return l;
    };
    if (!line.isEmpty()) {
        auto* l = text(line);
        if (error) l->setStyleSheet("color: #b00");
        rows_->addRow(l);
        lines_ << line;
    }
    for (const auto& [name, value] : rows) {
        auto* n = new QLabel("<b>" + QString::fromStdString(name).toHtmlEscaped() + "</b>", summary_);
        rows_->addRow(n, text(QString::fromStdString(value)));
        lines_ << QString::fromStdString(name) + " " + QString::fromStdString(value);
    }
}

QString ModelPanel::summaryText() const { return loading_ ? QString() : lines_.join('\n'); }

}  // namespace dilute::gui
