// What the workbench remembers between sessions (QSettings): the model and how it is opened,
// the data, the run folder, the window, the recent runs and the analysis shown; on a first
// start, the demo's results when the demo ran in this folder.
#include "mainwindow.h"

#include <QFileInfo>
#include <QMenu>
#include <QSettings>

#include "modelpanel.h"
#include "projectpanel.h"
#include "trainingview.h"

namespace dilute::gui {

void MainWindow::rememberRun(const QString& dir) {
    QSettings st;
    auto runs = st.value("recentRuns").toStringList();
    runs.removeAll(dir);
    runs.prepend(dir);
    while (runs.size() > 8) runs.removeLast();
    st.setValue("recentRuns", runs);
    rebuildRecentMenu();
}

void MainWindow::rebuildRecentMenu() {
    recent_->clear();
    for (const auto& r : QSettings().value("recentRuns").toStringList())
        recent_->addAction(r, this, [this, r] { openRun(r); });
    recent_->setEnabled(!recent_->isEmpty());
}

void MainWindow::loadSettings() {
    QSettings st;
    if (st.contains("model")) {
        io::ModelRef r;
        r.model = st.value("model").toString().toStdString();
        r.arch = st.value("modelArch").toString().toStdString();
        r.weights_key = st.value("modelWeightsKey").toString().toStdString();
        r.heads = st.value("modelHeads", 0).toInt();
        r.img_size = st.value("modelImgSize", 0).toInt();
        project_->modelPanel()->setRef(r);
    }
    if (st.contains("data")) project_->setData(st.value("data").toString());
    if (st.contains("runDir")) training_->setRunDir(st.value("runDir").toString());
    if (st.contains("geometry")) restoreGeometry(st.value("geometry").toByteArray());
    rebuildRecentMenu();
    // The last session's analysis; on a first start, the demo's results if the demo ran here.
    const QString analysis = st.value("analysis").toString();
    if (!analysis.isEmpty() && QFileInfo::exists(analysis))
        openPath(analysis);
    else if (!st.contains("model") && classifyPath("runs/demo") == PathKind::Demo)
        openPath("runs/demo");
}

void MainWindow::saveSettings() {
    QSettings st;
    const auto r = project_->modelRef();
    st.setValue("model", project_->model());
    st.setValue("modelArch", QString::fromStdString(r.arch));
    st.setValue("modelWeightsKey", QString::fromStdString(r.weights_key));
    st.setValue("modelHeads", r.heads);
    st.setValue("modelImgSize", r.img_size);
    st.setValue("data", project_->data());
    st.setValue("runDir", training_->runDir());
    st.setValue("geometry", saveGeometry());
    st.setValue("analysis", analysisPath_);
}

}  // namespace dilute::gui
