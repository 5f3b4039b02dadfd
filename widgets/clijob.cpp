#include "clijob.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>
#include <QTemporaryFile>

namespace dilute::gui {

CliJob::CliJob(QObject* parent) : QObject(parent) {
    proc_.setProcessChannelMode(QProcess::MergedChannels);
    connect(&proc_, &QProcess::readyRead, this, &CliJob::readOutput);
    connect(&proc_, &QProcess::finished, this, [this](int code, QProcess::ExitStatus st) {
        readOutput();
        if (!partial_.isEmpty()) Q_EMIT line(QString::fromUtf8(partial_));
        partial_.clear();
        config_.reset();
        Q_EMIT finished(code, st == QProcess::CrashExit);
    });
}

CliJob::~CliJob() { cancelAndWait(20000); }

QString CliJob::program() {
    const QString env = qEnvironmentVariable("DILUTE_CLI");
    if (!env.isEmpty() && QFileInfo(env).isExecutable()) return env;
    const QString beside = QDir(QCoreApplication::applicationDirPath()).filePath("dilute");
    if (QFileInfo(beside).isExecutable()) return beside;
    return QStandardPaths::findExecutable("dilute");
}

bool CliJob::startTraining(const QString& optionsJson, int nproc, QString* error) {
    if (running()) {
        if (error) *error = tr("a CLI job is already running");
        return false;
    }
    const QString exe = program();
    if (exe.isEmpty()) {
        if (error) *error = tr("cannot find the 'dilute' program next to the workbench or on the PATH");
        return false;
    }
    config_ = std::make_unique<QTemporaryFile>(QDir::temp().filePath("dilute-train-XXXXXX.json"));
    if (!config_->open() || config_->write(optionsJson.toUtf8()) < 0 || !config_->flush()) {
        if (error) *error = tr("cannot write the options file %1: %2").arg(config_->fileName(), config_->errorString());
        config_.reset();
        return false;
    }
    proc_.start(exe, {"train", "--config", config_->fileName(), "--nproc", QString::number(nproc)});
    if (!proc_.waitForStarted(10000)) {
        if (error) *error = tr("cannot start %1: %2").arg(exe, proc_.errorString());
        config_.reset();
        return false;
    }
    return true;
}

bool CliJob::running() const { return proc_.state() != QProcess::NotRunning; }

void CliJob::cancel() {
    if (running()) proc_.terminate();  // SIGTERM: the launcher stops its workers cleanly
}

void CliJob::cancelAndWait(int timeoutMs) {
    if (!running()) return;
    cancel();
    if (!proc_.waitForFinished(timeoutMs)) {
        proc_.kill();
        proc_.waitForFinished(5000);
    }
}

void CliJob::readOutput() {
    partial_ += proc_.readAll();
    int nl;
    while ((nl = partial_.indexOf('\n')) >= 0) {
        QByteArray l = partial_.left(nl);
        partial_.remove(0, nl + 1);
        const int cr = l.lastIndexOf('\r');  // a progress bar redrawn in place: its latest state
        if (cr >= 0) l = l.mid(cr + 1);
        if (!l.trimmed().isEmpty()) Q_EMIT line(QString::fromUtf8(l));
    }
}

}  // namespace dilute::gui
