// The Training view following a run folder: a finished run redrawn from its metrics.jsonl, a live
// one (a CLI, torchrun or cluster run) followed as it grows, and its config.json in the form.
#include "trainingview.h"

#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QLabel>

#include "optionform.h"
#include "train/metrics.h"
#include "train/options.h"
#include "util/files.h"

namespace dilute::gui {

void TrainingView::updateStatus() {
    QStringList parts;
    if (!epochLine_.isEmpty()) parts << epochLine_;
    if (!runLine_.isEmpty()) parts << runLine_;
    status_->setText(parts.join('\n'));
}

void TrainingView::setStatus(const QString& runLine) {
    runLine_ = runLine;
    updateStatus();
}

bool TrainingView::loadRun(const QString& dir, QString* error, bool starting) {
    const QDir d(dir);
    if (!starting && !d.exists("metrics.jsonl") && !d.exists("config.json")) {
        if (error)
            *error =
                d.filePath("metrics.jsonl") + tr(": cannot open (not a run folder: no metrics.jsonl or config.json)");
        return false;
    }
    followTimer_.stop();
    clearPlots();
    setRunDir(dir);
    followDir_ = dir;
    if (!starting) loadRunOptions(d.filePath("config.json"));
    follower_ = std::make_unique<train::MetricsFollower>(d.filePath("metrics.jsonl").toStdString());
    lastGrowthMs_ = QDateTime::currentMSecsSinceEpoch();
    pollRun();
    if (!follower_->ended()) followTimer_.start();
    if (error) error->clear();
    return true;
}

// The form shows what the opened run used, so Resume and "train again with changes" start from
// it; a config.json the table cannot read (written elsewhere) leaves the form as it was.
void TrainingView::loadRunOptions(const QString& configPath) {
    if (!QFileInfo::exists(configPath)) return;
    try {
        const auto o = train::TrainOptions::fromJson(fs::readText(configPath.toStdString()), configPath.toStdString());
        form_->load(o);
        recipe_ = QString::fromStdString(o.recipe);
        form_->setToolTip(tr("Options of the run %1").arg(QFileInfo(configPath).absolutePath()));
    } catch (const std::exception& e) {
        form_->setToolTip(QString::fromStdString(e.what()));
    }
}

void TrainingView::pollRun() {
    if (!follower_) return;
    const auto events = follower_->poll();
    if (follower_->restarted()) clearPlots();
    int bad = 0;
    for (const auto& ev : events) {
        using K = train::MetricsEvent::Kind;
        if (ev.kind == K::Step)
            addStep(ev.step);
        else if (ev.kind == K::Epoch)
            addEpoch(ev.epoch);
        else if (ev.kind == K::Bad)
            ++bad;
    }
    const qint64 now = QDateTime::currentMSecsSinceEpoch();
    if (!events.empty()) lastGrowthMs_ = now;
    flush();
    QString line;
    if (follower_->ended()) {
        followTimer_.stop();
        line = tr("run %1: %2").arg(followDir_, QString::fromStdString(follower_->status()));
    } else {
        line = tr("live: following %1 (%2 events, last %3 s ago)")
                   .arg(followDir_)
                   .arg(follower_->events())
                   .arg((now - lastGrowthMs_) / 1000);
    }
    if (bad) line += tr("; %1 damaged lines skipped").arg(bad);
    runLine_ = line;
    updateStatus();
}

}  // namespace dilute::gui
