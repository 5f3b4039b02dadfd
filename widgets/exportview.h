#pragma once
// The Export view: export the pruned model (safetensors + TorchScript), then a before/after
// table and a bar chart of top-1, parameters, GMAC, images/s, latency and memory, measured.
#include <QWidget>

#include "types.h"

class QCustomPlot;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace dilute::gui {

class ExportView : public QWidget {
    Q_OBJECT
public:
    explicit ExportView(QWidget* parent = nullptr);
    /// The run to export and the model it started from (the "before").
    void setRun(const QString& runDir, const QString& baseline);
    QString runDir() const;
    QString baseline() const;
    void setReport(const ExportReport& r);
    void setBusy(bool busy);
    QCustomPlot* chart() const { return chart_; }
    QTableWidget* table() const { return table_; }

Q_SIGNALS:
    void exportRequested(QString runDir, QString outDir, QString baseline);

private:
    QLineEdit *run_, *baseline_, *out_;
    QPushButton* export_;
    QLabel* files_;
    QTableWidget* table_;
    QCustomPlot* chart_;
};

}  // namespace dilute::gui
