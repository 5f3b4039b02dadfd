#pragma once
// The Study view: is entropy selection any good for this model? Runs `dilute study`'s job (the
// form is generated from the same option table) and shows its answer: a scatter of T(S) against
// zero-shot top-1 over every K-subset with the selectors' choices marked, bars per selector
// (mean over its arms, whiskers from the lowest to the highest: random's seed spread), and the
// table of arms. A finished study folder (study.json) can be opened as well.
#include <QWidget>

#include "jobview.h"

#include "experiment/study.h"

class QCustomPlot;
class QLabel;
class QLineEdit;
class QPushButton;
class QTableWidget;

namespace dilute::gui {
class OptionForm;

class StudyView : public QWidget, public JobView {
    Q_OBJECT
public:
    explicit StudyView(QWidget* parent = nullptr);
    /// The job as the view describes it (model, data and device come from the Project panel).
    experiment::StudyOptions options() const;
    void setFolder(const QString& dir);
    QString folder() const;
    void setResult(const experiment::StudyResult& r, bool partial = false);
    /// Reads DIR/study.json and shows it; false (with the reason in *error) when it cannot.
    bool openStudy(const QString& dir, QString* error = nullptr);
    void setBusy(bool busy);
    OptionForm* optionForm() const { return form_; }
    QCustomPlot* scatter() const { return scatter_; }
    QCustomPlot* bars() const { return bars_; }
    QTableWidget* table() const { return table_; }
    QLabel* summary() const { return summary_; }

Q_SIGNALS:
    void studyRequested(dilute::experiment::StudyOptions o);
    void failed(QString message);

private:
    void drawScatter(const experiment::StudyResult& r);
    void drawBars(const experiment::StudyResult& r);
    void fillTable(const experiment::StudyResult& r);

    QLineEdit* folder_;
    QPushButton *run_, *open_;
    OptionForm* form_;
    QLabel* summary_;
    QCustomPlot *scatter_, *bars_;
    QTableWidget* table_;
};

}  // namespace dilute::gui
