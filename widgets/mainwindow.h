#pragma once
// The main window only wires components: project side, Analysis / Inspect / Training / Export / Study / Runs views, a
// job runner on a worker thread, and a status bar with progress, ETA and cancel.
#include <QElapsedTimer>
#include <QMainWindow>

#include "analysis/options.h"
#include "experiment/study.h"
#include "inspect/options.h"
#include "train/options.h"
#include "types.h"

class QDragEnterEvent;
class QDropEvent;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QTabWidget;
class QMenu;

namespace dilute::gui {

class AnalysisView;
class CliJob;
class ExportView;
class InspectView;
class JobView;
class JobRunner;
class ProjectPanel;
class RunsView;
class StudyView;
class TrainingView;

/// What a path holds, by its files (widgets/mainwindow_open.cpp).
enum class PathKind { Model, Run, Analysis, Study, Demo, RunsRoot, Unknown };
PathKind classifyPath(const QString& path);

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    explicit MainWindow(QWidget* parent = nullptr);
    ~MainWindow() override;

    AnalysisView* analysisView() const { return analysis_; }
    TrainingView* trainingView() const { return training_; }
    ExportView* exportView() const { return export_; }
    InspectView* inspectView() const { return inspect_; }
    ProjectPanel* projectPanel() const { return project_; }
    RunsView* runsView() const { return runs_; }
    StudyView* studyView() const { return study_; }
    JobRunner* runner() const { return runner_; }
    CliJob* cliJob() const { return cli_; }
    QTabWidget* tabs() const { return tabs_; }
    QString lastError() const { return lastError_; }
    /// Runs the analysis with `o`; model, data and device are the Project panel's.
    void startAnalysis(analysis::AnalysisOptions o);
    /// Exports and measures the Export view's run with its options, on the project's data and device.
    void startExport();
    void startTraining(train::TrainOptions o);
    /// Runs the study with `o` on the Project panel's model, data and device; a folder that holds
    /// a study is never replaced (the next free name beside it is used, and shown).
    void startStudy(experiment::StudyOptions o);
    /// Inspects with `o` on the Project panel's model, data and device; the result is written to
    /// the next free `inspect[-N]` folder beside the runs.
    void startInspect(inspect::InspectOptions o);
    void openRun(const QString& dir);
    /// Opens whatever `path` is (classifyPath) in the view that shows it: a model file or folder,
    /// a run, an analysis, a study, a demo folder as a whole, a folder of runs. False with the
    /// reason in `error` when it is none of these or cannot be read.
    bool openPath(const QString& path, QString* error = nullptr);

protected:
    void closeEvent(QCloseEvent* e) override;
    void dragEnterEvent(QDragEnterEvent* e) override;
    void dropEvent(QDropEvent* e) override;

private:
    void buildDocks();
    void openDemo(const QString& dir);
    void openWithMessage(const QString& path);  // openPath, its error in the log and status bar
    void analysisFinished(const analysis::AnalysisResult& r);
    void buildStatusBar();
    void buildMenus();
    void connectCliJob();
    void connectViews();
    void connectInspect();  // widgets/mainwindow_inspect.cpp
    void wireWorker();      // widgets/mainwindow_results.cpp: each job's results to its view
    void trainingFinished(const train::TrainSummary& s);
    void setBusy(bool busy);
    void onProgress(const JobProgress& p);
    void logLine(const QString& s, bool error = false);
    void rememberRun(const QString& dir);
    void rebuildRecentMenu();
    void loadSettings();
    void saveSettings();

    ProjectPanel* project_;
    AnalysisView* analysis_;
    TrainingView* training_;
    ExportView* export_;
    InspectView* inspect_;
    RunsView* runs_;
    StudyView* study_;
    QTabWidget* tabs_;
    JobRunner* runner_;
    CliJob* cli_;  // multi-process training through `dilute train --nproc N`
    void startCliTraining(const train::TrainOptions& o, int processes);
    QProgressBar* progress_;
    QLabel *phase_, *eta_;
    QPushButton* cancel_;
    QPlainTextEdit* log_;
    QMenu* recent_;
    QElapsedTimer clock_;
    QString phaseName_, lastError_, trainModel_, cliRunDir_;
    QString analysisPath_;
    JobView* jobView_ = nullptr;      // the view that started the running job: it shows its progress line
    void startedFrom(JobView* view);  // the analysis.json the Analysis view shows ("" when it has none on disk)
};

}  // namespace dilute::gui
