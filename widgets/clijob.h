#pragma once
// A job run by the `dilute` CLI in a child process: how the workbench trains on several local
// processes (`dilute train --nproc N`, the same path a terminal user takes). Its output arrives
// line by line; cancel() sends SIGTERM, which the launcher forwards to its workers as Ctrl-C
// (checkpoint written, clean stop).
#include <QObject>
#include <QProcess>
#include <QStringList>

#include <memory>

class QTemporaryFile;

namespace dilute::gui {

class CliJob : public QObject {
    Q_OBJECT
public:
    explicit CliJob(QObject* parent = nullptr);
    ~CliJob() override;
    /// The CLI next to this program (or $DILUTE_CLI, or `dilute` on the PATH); empty if none.
    static QString program();
    /// Starts `dilute train --config <options JSON> --nproc N`.
    bool startTraining(const QString& optionsJson, int nproc, QString* error = nullptr);
    bool running() const;
    void cancel();
    /// Cancels and waits (window closing).
    void cancelAndWait(int timeoutMs = 60000);

Q_SIGNALS:
    void line(QString text);
    void finished(int exitCode, bool crashed);

private:
    void readOutput();
    QProcess proc_;
    std::unique_ptr<QTemporaryFile> config_;
    QByteArray partial_;
};

}  // namespace dilute::gui
