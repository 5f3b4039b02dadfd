#pragma once
// A job's options form, generated from the job's option table (util/optiontable.h), the same
// table the CLI's options come from: one editor per option the GUI shows (objectName = the
// option's name, tooltip = its CLI help and flag), grouped as the table groups them. Options the
// table marks CLI-only (with the reason) are left out; load/store leave them alone.
#include <QSet>
#include <QWidget>

#include <functional>
#include <string>
#include <vector>

#include "util/optiontable.h"

class QScrollArea;

namespace dilute::gui {

/// `content` in a frameless area that scrolls vertically (never sideways): a form or panel that
/// scrolls rather than squeezing its editors when the window is short.
QScrollArea* scrollingPanel(QWidget* content, QWidget* parent);

class OptionForm : public QWidget {
    Q_OBJECT
public:
    template <class O>
    explicit OptionForm(const std::vector<OptionSpec<O>>& table, QWidget* parent = nullptr) : QWidget(parent) {
        // Tables are static: holding a reference is safe for the form's lifetime.
        access_ = [&table](void* o, const std::string& name) {
            return findOption(table, name)->field(*static_cast<O*>(o));
        };
        O defaults;
        std::vector<Row> rows;
        for (const auto& s : table)
            if (s.cliOnly.empty())
                rows.push_back(
                    {s.name, s.flags, s.label, s.help, s.group, s.special, s.lo, s.hi, s.choices, s.field(defaults)});
        build(rows);
        load(defaults);
    }
    /// Shows `o` in the editors (does not count as the user's edits).
    template <class O>
    void load(const O& o) {
        O copy = o;
        loadFrom(&copy);
    }
    /// Writes the editors' values into `o` (options the form does not show are left alone).
    template <class O>
    void store(O& o) const {
        storeTo(&o);
    }
    QWidget* editor(const QString& name) const;
    QStringList names() const;
    /// The options the user changed since the form was built (kept over a recipe).
    QSet<QString> edited() const { return edited_; }

Q_SIGNALS:
    void changed();

private:
    struct Row {
        std::string name, flags, label, help, group, special;
        double lo, hi;
        std::vector<std::string> choices;
        OptionField sample;  // a default value: its type picks the editor
    };
    void build(const std::vector<Row>& rows);
    void loadFrom(void* o);
    void storeTo(void* o) const;

    std::function<OptionField(void*, const std::string&)> access_;
    QList<QPair<QString, QWidget*>> editors_;
    QSet<QString> edited_;
    bool loading_ = false;
};

}  // namespace dilute::gui
