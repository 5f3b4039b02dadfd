#pragma once
// A view that starts a job shows the job's progress line while it runs (phase, done of total, ETA:
// the status bar's text, where the user is looking). The window sends it to the view that
// started the running job (MainWindow::onProgress) and clears it when the job ends.
#include <QLabel>
#include <QString>

namespace dilute::gui {

class JobView {
public:
    virtual ~JobView() = default;
    /// "" hides the line.
    void setProgressText(const QString& text) {
        if (!progressLabel_) return;
        progressLabel_->setText(text);
        progressLabel_->setVisible(!text.isEmpty());
    }
    QLabel* progressLabel() const { return progressLabel_; }

protected:
    /// The view's progress line, placed by the view (hidden until a job reports).
    QLabel* makeProgressLabel(QWidget* parent) {
        progressLabel_ = new QLabel(parent);
        progressLabel_->setObjectName("jobProgress");
        progressLabel_->setWordWrap(true);
        progressLabel_->setVisible(false);
        return progressLabel_;
    }

private:
    QLabel* progressLabel_ = nullptr;
};

}  // namespace dilute::gui
