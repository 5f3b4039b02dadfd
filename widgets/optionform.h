#pragma once
// The training options form, generated from the one option table (core/train/optiontable.h)
// that the CLI's `train` options come from: one editor per option the GUI shows (objectName =
// the option's name, tooltip = its CLI help and flag), grouped as the table groups them. The
// preset recipe fills the options the user has not edited whenever the model changes.
#include <QSet>
#include <QWidget>

#include "train/options.h"

namespace dilute::gui {

class OptionForm : public QWidget {
    Q_OBJECT
public:
    explicit OptionForm(QWidget* parent = nullptr);
    /// Shows `o` in the editors (does not count as the user's edits).
    void load(const train::TrainOptions& o);
    /// Writes the editors' values into `o` (options the form does not show are left alone).
    void store(train::TrainOptions& o) const;
    /// Applies the recipe of `model` to every option the user has not edited.
    void setModel(const QString& model);
    QWidget* editor(const QString& name) const;
    QStringList names() const;
    QSet<QString> edited() const { return edited_; }

Q_SIGNALS:
    void changed();

private:
    QList<QPair<QString, QWidget*>> editors_;
    QSet<QString> edited_;
    bool loading_ = false;
};

}  // namespace dilute::gui
