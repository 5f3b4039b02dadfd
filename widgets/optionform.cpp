#include "optionform.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleValidator>
#include <QFormLayout>
#include <QGroupBox>
#include <QLineEdit>
#include <QLocale>
#include <QRegularExpressionValidator>
#include <QScrollArea>
#include <QSpinBox>
#include <QVBoxLayout>

#include <climits>
#include <cmath>
#include <type_traits>
#include <variant>

namespace dilute::gui {

void OptionForm::build(const std::vector<Row>& rows) {
    auto* lay = new QVBoxLayout(this);
    lay->setContentsMargins(0, 0, 0, 0);
    QMap<QString, QFormLayout*> groups;
    for (const auto& spec : rows) {
        const QString group = QString::fromStdString(spec.group);
        if (!groups.contains(group)) {
            auto* box = new QGroupBox(tr(spec.group.c_str()), this);
            groups[group] = new QFormLayout(box);
            groups[group]->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
            groups[group]->setContentsMargins(4, 4, 4, 4);
            lay->addWidget(box);
        }
        QWidget* ed = nullptr;
        // A user's change of this option: kept over the recipe when the model changes.
        const auto mark = [this, name = QString::fromStdString(spec.name)] {
            if (loading_) return;
            edited_.insert(name);
            Q_EMIT changed();
        };
        std::visit(
            [&](auto* field) {
                using T = std::remove_pointer_t<decltype(field)>;
                if constexpr (std::is_same_v<T, bool>) {
                    auto* c = new QCheckBox(this);
                    connect(c, &QCheckBox::toggled, this, mark);
                    ed = c;
                } else if constexpr (std::is_same_v<T, std::string>) {
                    if (!spec.choices.empty()) {
                        auto* c = new QComboBox(this);
                        for (const auto& ch : spec.choices) c->addItem(QString::fromStdString(ch));
                        connect(c, &QComboBox::currentTextChanged, this, mark);
                        ed = c;
                    } else {
                        auto* e = new QLineEdit(this);
                        e->setPlaceholderText(tr(spec.special.c_str()));  // what an empty field means
                        connect(e, &QLineEdit::textEdited, this, mark);
                        ed = e;
                    }
                } else if constexpr (std::is_same_v<T, double>) {
                    // A line edit, so 1e-05 reads as 1e-05 (a spin box would show 0.0000100).
                    auto* e = new QLineEdit(this);
                    e->setPlaceholderText(tr(spec.special.c_str()));
                    auto* v = new QDoubleValidator(spec.lo, spec.hi, 12, e);
                    v->setNotation(QDoubleValidator::ScientificNotation);
                    v->setLocale(QLocale::c());
                    e->setValidator(v);
                    connect(e, &QLineEdit::textEdited, this, mark);
                    ed = e;
                } else if (spec.hi <= INT_MAX && spec.lo >= INT_MIN) {
                    auto* sp = new QSpinBox(this);
                    sp->setRange(int(spec.lo), int(spec.hi));
                    if (!spec.special.empty()) sp->setSpecialValueText(tr(spec.special.c_str()));
                    connect(sp, &QSpinBox::valueChanged, this, mark);
                    ed = sp;
                } else {  // whole numbers past int: digits in a line edit
                    auto* e = new QLineEdit(this);
                    e->setPlaceholderText(tr(spec.special.c_str()));
                    e->setValidator(new QRegularExpressionValidator(
                        QRegularExpression(spec.lo < 0 ? "-?[0-9]{1,19}" : "[0-9]{1,19}"), e));
                    connect(e, &QLineEdit::textEdited, this, mark);
                    ed = e;
                }
            },
            spec.sample);
        ed->setObjectName(QString::fromStdString(spec.name));
        // A number's special value (e.g. -1: "auto") shows as its meaning, an empty field that reads back as it.
        if (!spec.special.empty()) ed->setProperty("specialValue", spec.lo);
        // The side panel is narrow: editors take the width there is instead of their (wide) hint.
        ed->setMinimumWidth(60);
        ed->setSizePolicy(QSizePolicy::Ignored, ed->sizePolicy().verticalPolicy());
        const QString flag = QString::fromStdString(spec.flags.substr(0, spec.flags.find(',')));
        // "!--per-epoch": a CLI flag that clears the field the box shows checked.
        ed->setToolTip(flag.startsWith('!') ? tr("Unchecked: %1 (CLI: %2)").arg(tr(spec.help.c_str()), flag.mid(1))
                                            : tr("%1 (CLI: %2)").arg(tr(spec.help.c_str()), flag));
        groups[group]->addRow(tr(spec.label.c_str()), ed);
        editors_.append({QString::fromStdString(spec.name), ed});
    }
}

QScrollArea* scrollingPanel(QWidget* content, QWidget* parent) {
    auto* scroll = new QScrollArea(parent);
    scroll->setWidget(content);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    return scroll;
}

QWidget* OptionForm::editor(const QString& name) const {
    for (const auto& [n, w] : editors_)
        if (n == name) return w;
    return nullptr;
}

QStringList OptionForm::names() const {
    QStringList out;
    for (const auto& e : editors_) out << e.first;
    return out;
}

void OptionForm::loadFrom(void* o) {
    loading_ = true;
    for (const auto& [name, ed] : editors_) {
        const OptionField f = access_(o, name.toStdString());
        std::visit(
            [&, ed = ed](auto* field) {
                using T = std::remove_pointer_t<decltype(field)>;
                if constexpr (std::is_same_v<T, bool>) {
                    static_cast<QCheckBox*>(ed)->setChecked(*field);
                } else if constexpr (std::is_same_v<T, std::string>) {
                    if (auto* c = qobject_cast<QComboBox*>(ed))
                        c->setCurrentText(QString::fromStdString(*field));
                    else
                        static_cast<QLineEdit*>(ed)->setText(QString::fromStdString(*field));
                } else if constexpr (std::is_same_v<T, double>) {
                    const bool special =
                        ed->property("specialValue").isValid() && *field == ed->property("specialValue").toDouble();
                    static_cast<QLineEdit*>(ed)->setText(special ? QString() : QString::fromStdString(fieldText(f)));
                } else {
                    const bool special = ed->property("specialValue").isValid() &&
                                         double(*field) == ed->property("specialValue").toDouble();
                    if (auto* sp = qobject_cast<QSpinBox*>(ed))
                        sp->setValue(int(*field));
                    else
                        static_cast<QLineEdit*>(ed)->setText(special ? QString() : QString::number(*field));
                }
            },
            f);
    }
    loading_ = false;
}

void OptionForm::storeTo(void* o) const {
    for (const auto& [name, ed] : editors_) {
        std::visit(
            [&, ed = ed](auto* field) {
                using T = std::remove_pointer_t<decltype(field)>;
                if constexpr (std::is_same_v<T, bool>) {
                    *field = static_cast<QCheckBox*>(ed)->isChecked();
                } else if constexpr (std::is_same_v<T, std::string>) {
                    if (auto* c = qobject_cast<QComboBox*>(ed))
                        *field = c->currentText().toStdString();
                    else
                        *field = static_cast<QLineEdit*>(ed)->text().toStdString();
                } else if constexpr (std::is_same_v<T, double>) {
                    const QString text = static_cast<QLineEdit*>(ed)->text().trimmed();
                    bool ok = false;
                    const double v = QLocale::c().toDouble(text, &ok);
                    if (text.isEmpty() && ed->property("specialValue").isValid())
                        *field = ed->property("specialValue").toDouble();
                    else if (ok)
                        *field = v;  // an unfinished entry keeps the value it had
                } else {
                    if (auto* sp = qobject_cast<QSpinBox*>(ed))
                        *field = static_cast<T>(sp->value());
                    else
                        *field = static_cast<T>(static_cast<QLineEdit*>(ed)->text().toLongLong());  // "" reads as 0
                }
            },
            access_(o, name.toStdString()));
    }
}

}  // namespace dilute::gui
