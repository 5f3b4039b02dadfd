#pragma once
// The Training view: starts dilution training of the current selection (or a baseline) and
// plots live loss, test top-1, lambda of each selected block, learning rate and images/s.
// Points are batched and the plots redrawn on a ~25 Hz timer. Runs can be resumed and
// reopened from their folder (plots redrawn from metrics.jsonl).
#include <QTimer>
#include <QWidget>

#include "jobview.h"

#include <memory>
#include <vector>

#include "train/events.h"
#include "train/options.h"

class QCustomPlot;
class QSpinBox;
class QDoubleSpinBox;
class QLineEdit;
class QLabel;
class QPushButton;
class QComboBox;

namespace dilute::gui {
class OptionForm;
}

namespace dilute::train {
class MetricsFollower;
}

namespace dilute::gui {

class TrainingView : public QWidget, public JobView {
    Q_OBJECT
public:
    explicit TrainingView(QWidget* parent = nullptr);
    ~TrainingView() override;

    void setSelection(const std::vector<int>& blocks);
    /// The project's model (or how it is opened) changed: the options the user has not edited
    /// take its recipe (--img-size included: a DeiT at 32 px takes the small-model recipe).
    void setModel(const io::ModelRef& model);
    void setModel(const QString& model);
    OptionForm* optionForm() const { return form_; }
    std::vector<int> selection() const { return selection_; }
    /// The options from the controls (model, data and device are filled in by the window).
    train::TrainOptions options() const;
    void setRunDir(const QString& dir);
    QString runDir() const;
    void setBusy(bool busy);
    void clearPlots();
    /// Redraws every plot from RUN_DIR/metrics.jsonl and, while the run is still being written
    /// (no "end" event yet: a CLI, torchrun or cluster run), keeps following the file as it grows.
    /// Returns false (with *error) if DIR is not a run folder.
    /// `starting`: the run is about to be created by another process; wait for its files.
    bool loadRun(const QString& dir, QString* error = nullptr, bool starting = false);
    /// Reads what was appended to the followed run since the last poll (the timer calls it).
    void pollRun();
    bool following() const;
    /// Local processes for data-parallel CPU training (1 = in the workbench's own worker).
    int processes() const;
    void setProcesses(int n);
    QString statusText() const;
    void setStatus(const QString& runLine);  // the second status line (run state, messages)
    QList<QCustomPlot*> plots() const;
    int pointCount(int plot) const;  // data points in plot i (tests)
    void flush();                    // draw pending points now

public Q_SLOTS:
    void addStep(const dilute::train::StepEvent& e);
    void addEpoch(const dilute::train::EpochEvent& e);

Q_SIGNALS:
    void startRequested(dilute::train::TrainOptions o);
    void resumeRequested(QString runDir);
    void cancelRequested();

protected:
    void showEvent(QShowEvent* e) override;

private:
    void loadRunOptions(const QString& configPath);
    void redraw();  // rescale and replot (only while visible; hidden views redraw when shown)
    void fitTop1();
    void ensureLambdaGraphs(const std::vector<int>& blocks);
    void showEmptyState(bool empty);  // a message in every plot until a run's first points
    void buildPlots();                // the plots and the smoothing / log-scale controls
    QWidget* plotControls();
    QWidget* sidePanel();

    std::vector<int> selection_;
    QCustomPlot *loss_, *top1_, *lambda_, *lr_, *speed_;
    double smoothing_ = 0.9;  // TensorBoard's EMA weight for loss and throughput (raw curve faint behind)
    bool logLoss_ = false;
    QSpinBox* processes_;
    io::ModelRef model_;  // the project's model (its recipe fills the form)
    QString recipe_;      // the name of that recipe
    OptionForm* form_;    // generated from the option table the CLI's train options come from
    QLineEdit* runDir_;
    QLabel *selLabel_, *status_;
    QPushButton *start_, *baseline_, *cancel_, *resume_, *open_;
    QTimer timer_;
    struct Pending {
        std::vector<train::StepEvent> steps;
        std::vector<train::EpochEvent> epochs;
    } pending_;
    std::vector<int> lambdaBlocks_;
    bool dirty_ = false;
    std::unique_ptr<train::MetricsFollower> follower_;
    QString followDir_;
    QTimer followTimer_;
    qint64 lastGrowthMs_ = 0;
    QString epochLine_, runLine_;
    void updateStatus();
};

}  // namespace dilute::gui
