#pragma once
// The Runs panel: every run folder under a root (default: the folder the Training view writes
// runs into) with its status, model, blocks diluted, best/final top-1 and date, sortable; the
// runs selected in the table are overlaid in one set of plots (loss, test top-1, mean lambda),
// one colour and one legend entry per run. This is where NOSE, random and a control are compared.
// Runs are re-read every few seconds when their files changed.
#include <QTimer>
#include <QWidget>

#include <functional>

class QCustomPlot;
class QLabel;
class QLineEdit;
class QTableWidget;

namespace dilute::gui {

class RunsView : public QWidget {
    Q_OBJECT
public:
    explicit RunsView(QWidget* parent = nullptr);
    ~RunsView() override;  // cuts the root field's signals first (see the .cpp)
    void setRoot(const QString& dir);
    QString root() const;
    /// Re-scans the root folder (keeps the selection by run path).
    void refresh();
    int runCount() const;
    /// Selects the runs whose folder names are given (tests, and "compare" from elsewhere).
    void selectRuns(const QStringList& names);
    QStringList selectedRuns() const;  // run folders (absolute paths)
    QList<QCustomPlot*> plots() const;
    QTableWidget* table() const { return table_; }

Q_SIGNALS:
    void openRunRequested(QString runDir);  // double-click: open it in the Training view

private:
    void redrawOverlay();
    void selectRows(const std::function<bool(int row)>& want);
    QString diskState() const;  // what the timer compares: run files' sizes and times

    QLineEdit* root_;
    QLabel* summary_;
    QTableWidget* table_;
    QCustomPlot *loss_, *top1_, *lambda_;
    QTimer timer_;
    QString diskState_;
    int ticks_ = 0;
};

}  // namespace dilute::gui
