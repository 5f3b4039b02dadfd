#pragma once
// The Export view: export the pruned model (safetensors + TorchScript), then a before/after
// table and a bar chart of top-1, parameters, GMAC, images/s, latency and memory, measured.
#include <QWidget>

#include "jobview.h"

#include "bench/options.h"
#include "types.h"

class QCustomPlot;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace dilute::gui {
class OptionForm;
}

namespace dilute::gui {

class ExportView : public QWidget, public JobView {
    Q_OBJECT
public:
    explicit ExportView(QWidget* parent = nullptr);
    /// The run to export and the model it started from (the "before").
    void setRun(const QString& runDir, const QString& baseline);
    QString runDir() const;
    QString baseline() const;
    /// The job as the view describes it: run, export folder (default RUN/export), full model and
    /// the measurement options of the form (data and device come from the Project panel).
    bench::MeasureOptions options() const;
    OptionForm* optionForm() const { return form_; }
    void setReport(const ExportReport& r);
    void setBusy(bool busy);
    QCustomPlot* chart() const { return chart_; }
    QTableWidget* table() const { return table_; }

Q_SIGNALS:
    void exportRequested();

private:
    QLineEdit *run_, *baseline_, *out_;
    QPushButton* export_;
    OptionForm* form_;  // generated from the table `dilute measure` takes its options from
    QLabel* files_;
    QTableWidget* table_;
    QCustomPlot* chart_;
};

}  // namespace dilute::gui
