#pragma once
// The Analysis view: entropy heatmap (blocks x heads, attention vs MLP), per-block attention vs
// MLP entropy (the paper's Figure 1), transfer entropy (single-block bars and the pairwise
// heatmap) and the NOSE trace. Clicking a block selects or deselects it on every view.
#include <QWidget>

#include "jobview.h"

#include <set>

#include "analysis/options.h"
#include "analysis/results.h"

class QCustomPlot;
class QCPColorMap;
class QLabel;
class QPushButton;
class QTableWidget;

namespace dilute::gui {

class OptionForm;

class AnalysisView : public QWidget, public JobView {
    Q_OBJECT
public:
    explicit AnalysisView(QWidget* parent = nullptr);

    /// `partial`: the analysis is still running (the phases done so far are drawn; the others
    /// say they are being computed).
    void setResult(const analysis::AnalysisResult& r, bool partial = false);
    const analysis::AnalysisResult& result() const { return result_; }
    bool hasResult() const { return result_.profile.depth > 0; }
    std::vector<int> selection() const { return {selected_.begin(), selected_.end()}; }
    void setSelection(const std::vector<int>& blocks);
    void toggleBlock(int block);
    QCustomPlot* heatmapPlot() const { return heat_; }
    QList<QCustomPlot*> plots() const;
    /// Block row under a pixel of the heatmap plot (-1 if none).
    int blockAt(const QPoint& pixel) const;
    /// The form's options (model, data and device are the Project panel's; the window adds them).
    analysis::AnalysisOptions options() const;
    OptionForm* optionForm() const { return form_; }
    void setBusy(bool busy);
    /// The block the keyboard cursor is on in the heatmap (Up/Down move it, Space toggles it).
    int cursorBlock() const { return cursor_; }
    QTableWidget* traceTable() const { return trace_; }

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;

Q_SIGNALS:
    void selectionChanged(std::vector<int> blocks);
    /// "Run analysis" / "Auto-select K": the window fills in model and data.
    void analysisRequested(dilute::analysis::AnalysisOptions options);

private:
    void redraw();
    void drawHighlights();
    void showTooltip(QMouseEvent* e);

    analysis::AnalysisResult result_;
    std::set<int> selected_;
    int cursor_ = 0;
    bool partial_ = false;
    QCustomPlot *heat_, *entropy_, *transfer_, *pair_;
    QCPColorMap *heatMap_ = nullptr, *pairMap_ = nullptr;
    OptionForm* form_;  // generated from the table `dilute analyze` takes its options from
    QPushButton *run_, *auto_;
    QLabel* selLabel_;
    QTableWidget* trace_;
};

}  // namespace dilute::gui
