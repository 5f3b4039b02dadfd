#pragma once
// The model side of the Project panel: which model (a preset, or any source Dilute opens: a
// .safetensors, a torch.save file, a timm hub or Hugging Face folder, a run folder) and how it is
// opened (io::ModelRef's options, the same table the CLI's --arch, --weights-key, --heads and
// --img-size come from), with what that model is: format, family, mapping, preprocessing and
// class names (io/summary.h, as `dilute info` prints them), read off the GUI thread.
#include <QWidget>

#include <QStringList>

#include <string>
#include <utility>
#include <vector>

#include "io/modelref.h"

class QComboBox;
class QFormLayout;
class QTimer;

namespace dilute::gui {

class OptionForm;
struct ModelSummary;

class ModelPanel : public QWidget {
    Q_OBJECT
public:
    explicit ModelPanel(QWidget* parent = nullptr);
    QString model() const;
    void setModel(const QString& m);
    /// The model and how to open it, for a job's options (which derive from io::ModelRef).
    io::ModelRef ref() const;
    void setRef(const io::ModelRef& r);
    /// File -> Open model...: a file dialog, and a folder dialog for hub, Hugging Face and run folders.
    void chooseFile();
    void chooseFolder();
    OptionForm* optionForm() const { return form_; }
    /// The description shown now (plain text); empty while it loads.
    QString summaryText() const;

Q_SIGNALS:
    void changed();
    /// The description of the current model is shown (ok: it opened; else the error is shown).
    void summaryReady(bool ok);

private:
    using Rows = std::vector<std::pair<std::string, std::string>>;  // io::SummaryRows
    void setRows(const Rows& rows, const QString& line, bool error);
    void describe();  // reads the model on a pool thread; a newer request wins
    void show(const ModelSummary& s);
    QComboBox* model_;
    OptionForm* form_;
    QWidget* summary_;  // the rows of io::modelSummary, or the error
    QFormLayout* rows_;
    QStringList lines_;  // the same as plain text
    QTimer* debounce_;
    int generation_ = 0;
    bool loading_ = false;
};

}  // namespace dilute::gui
