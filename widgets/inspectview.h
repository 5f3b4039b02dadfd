#pragma once
// The Inspect view (issue 30): what each attention layer does, per image. A grid of the images
// (with a second model, the ones whose prediction flips first, then the largest changes of the
// correct-class probability; the confusion-matrix difference beside them), the chosen image with its
// attention rollout, the blocks x heads grid of its class-token maps (click one to enlarge it),
// the mean-attention-distance heatmap (blocks x heads; the blocks selected for dilution marked,
// a click selects or deselects a block as on the Analysis view) and, per block, mean distance
// beside T({i}) and the attention entropy of the project's analysis.
#include <QWidget>

#include "jobview.h"

#include <set>
#include <vector>

#include "analysis/results.h"
#include "inspect/options.h"
#include "inspect/results.h"

class QCustomPlot;
class QCPColorMap;
class QLabel;
class QListWidget;
class QPushButton;
class QTableWidget;

namespace dilute::gui {

class OptionForm;

class InspectView : public QWidget, public JobView {
    Q_OBJECT
public:
    explicit InspectView(QWidget* parent = nullptr);

    /// `partial`: still running (drawn as it comes).
    void setResult(const inspect::InspectResult& r, bool partial = false);
    const inspect::InspectResult& result() const { return result_; }
    bool hasResult() const { return result_.depth > 0 && !result_.images.empty(); }
    /// The analysis shown beside the distances (T({i}), attention entropy); may be empty.
    void setAnalysis(const analysis::AnalysisResult& a);
    void setSelection(const std::vector<int>& blocks);
    std::vector<int> selection() const { return {selected_.begin(), selected_.end()}; }
    void toggleBlock(int block);
    /// Shows image `position` of the result (its rollout and class-token maps).
    void showImage(int position);
    int currentImage() const { return current_; }
    /// Enlarges the class-token map of (block, head) of the current image; (-1, -1): the rollout.
    void showMap(int block, int head);
    inspect::InspectOptions options() const;
    OptionForm* optionForm() const { return form_; }
    QListWidget* imageList() const { return thumbs_; }
    QCustomPlot* distancePlot() const { return dist_; }
    QList<QCustomPlot*> plots() const;
    QLabel* summaryLabel() const { return summary_; }
    /// With a second model: the confusion-matrix difference (its count minus this model's).
    QTableWidget* confusionTable() const { return confusion_; }
    /// The block row under a pixel of the distance heatmap (-1 if none).
    int blockAt(const QPoint& pixel) const;
    void setBusy(bool busy);

protected:
    bool eventFilter(QObject* watched, QEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;  // the pictures follow the room they have
    void showEvent(QShowEvent* event) override;

Q_SIGNALS:
    void inspectRequested(dilute::inspect::InspectOptions options);
    void selectionChanged(std::vector<int> blocks);

private:
    void fillImages();
    void drawDistance();
    void drawBlocks();
    void drawMarks();
    void drawImage();
    void drawHeadGrid();
    void drawConfusion();
    QString imageText(int position) const;

    inspect::InspectResult result_;
    analysis::AnalysisResult analysis_;
    std::set<int> selected_;
    int current_ = -1, mapBlock_ = -1, mapHead_ = -1;
    bool partial_ = false;
    OptionForm* form_;
    QPushButton* run_;
    QListWidget* thumbs_;
    QLabel *image_, *imageCaption_, *heads_, *summary_;
    QCustomPlot *dist_, *blocks_;
    QTableWidget* confusion_;
    QCPColorMap* distMap_ = nullptr;
};

}  // namespace dilute::gui
