// dilute-workbench: the Qt desktop workbench. Thin: parse arguments, set up, show the window.
//   dilute-workbench [PATH ...] [--open RUN_DIR] [--analysis DIR] [--study DIR] [--inspect VS] [--screenshots OUT_DIR]
// A PATH is anything File -> Open takes: a model, a run, an analysis, a study, a demo folder.
// --screenshots renders every view to OUT_DIR/*.png and exits (README screenshots, tests).
#include <QApplication>
#include <QCommandLineParser>
#include <QDir>
#include <QLineEdit>
#include <QTabWidget>
#include <QTimer>

#include "analysisview.h"
#include "mainwindow.h"
#include "runsview.h"
#include "studyview.h"

#include <QTableWidget>
#include "exportview.h"
#include "inspectview.h"
#include "jobrunner.h"
#include "optionform.h"
#include "projectpanel.h"
#include "trainingview.h"
#include "util/runtime.h"

// LibTorch has members called slots(): hide Qt's keyword macro while its headers are read.
#undef slots
#include "analysis/job.h"
#define slots Q_SLOTS

namespace {
// The Inspect view's job against `vs`, once no other job runs (an export report runs first).
void inspectWhenIdle(dilute::gui::MainWindow& w, const QString& vs, QTimer* pending) {
    if (auto* e = qobject_cast<QLineEdit*>(w.inspectView()->optionForm()->editor("vs"))) e->setText(vs);
    QObject::connect(pending, &QTimer::timeout, &w, [&w, pending] {
        if (w.runner()->busy()) return;
        pending->stop();
        w.startInspect(w.inspectView()->options());
    });
    pending->start(200);
}

// Every view to DIR/<view>.png once the jobs are done (and the pending one has started), then quit.
void screenshotsWhenIdle(dilute::gui::MainWindow& w, const QString& dir, QTimer* pending) {
    QDir().mkpath(dir);
    auto grabAll = [&w, dir] {
        const QList<QPair<QWidget*, QString>> views{{w.analysisView(), "analysis"}, {w.inspectView(), "inspect"},
                                                    {w.trainingView(), "training"}, {w.exportView(), "export"},
                                                    {w.studyView(), "study"},       {w.runsView(), "runs"}};
        for (const auto& [view, name] : views) {
            w.tabs()->setCurrentWidget(view);
            QApplication::processEvents();
            if (view == w.runsView()) w.runsView()->table()->selectAll();  // overlay every run
            w.trainingView()->flush();
            w.grab().save(dir + "/" + name + ".png");
        }
        QApplication::quit();
    };
    auto* poll = new QTimer(&w);
    QObject::connect(poll, &QTimer::timeout, &w, [&w, poll, pending, grabAll] {
        if (w.runner()->busy() || pending->isActive()) return;
        poll->stop();
        grabAll();
    });
    poll->start(300);
}
}  // namespace

int main(int argc, char** argv) {
    dilute::preferPassiveOpenMp(argv);  // sleeping OpenMP workers, threaded BLAS (util/runtime.h)
    QApplication app(argc, argv);
    QApplication::setOrganizationName("Dilute");
    QApplication::setApplicationName("dilute-workbench");
    QApplication::setApplicationVersion("0.1.0");
    QCommandLineParser p;
    p.setApplicationDescription("Dilute workbench: entropy heatmaps, NOSE selection, live dilution training, export");
    p.addHelpOption();
    p.addVersionOption();
    QCommandLineOption open("open", "Reopen a run folder (plots redrawn from metrics.jsonl).", "RUN_DIR");
    QCommandLineOption analysis("analysis", "Load an analysis folder or analysis.json.", "PATH");
    QCommandLineOption model("model", "Model: a preset, or any model file or folder Dilute opens.", "MODEL");
    QCommandLineOption exportDir("export-report", "Show the export of RUN_DIR against --model (runs the job).",
                                 "RUN_DIR");
    QCommandLineOption study("study", "Show a study folder (study.json, from `dilute study`).", "DIR");
    QCommandLineOption shots("screenshots", "Render each view to PNG files in DIR and exit.", "DIR");
    QCommandLineOption inspectVs(
        "inspect", "Run the Inspect view on the project's model, compared with MODEL_VS ('' for none).", "MODEL_VS");
    p.addOptions({open, analysis, model, exportDir, study, shots, inspectVs});
    p.addPositionalArgument("path", "Models, runs, analyses, studies, demo folders or folders of runs to open.",
                            "[PATH...]");
    p.process(app);
    dilute::setThreads(0);

    dilute::gui::MainWindow w;
    if (p.isSet(model)) w.projectPanel()->setModel(p.value(model));
    if (p.isSet(analysis)) w.analysisView()->setResult(dilute::analysis::readAnalysis(p.value(analysis).toStdString()));
    if (p.isSet(open)) w.openRun(p.value(open));
    for (const auto& path : p.positionalArguments()) {
        QString err;
        if (!w.openPath(path, &err)) qWarning("%s", qPrintable(err));
    }
    if (p.isSet(study)) {
        QString err;
        if (!w.studyView()->openStudy(p.value(study), &err)) qWarning("%s", qPrintable(err));
    }
    w.show();
    if (p.isSet(exportDir)) {
        w.tabs()->setCurrentWidget(w.exportView());
        w.exportView()->setRun(p.value(exportDir), w.projectPanel()->model());
        w.startExport();
    }
    auto* pending = new QTimer(&w);  // the inspection, started once no other job runs
    if (p.isSet(inspectVs)) inspectWhenIdle(w, p.value(inspectVs), pending);
    if (p.isSet(shots)) screenshotsWhenIdle(w, p.value(shots), pending);
    return app.exec();
}
