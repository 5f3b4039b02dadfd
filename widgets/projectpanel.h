#pragma once
// The project side: the model and how it is opened (widgets/modelpanel.h), data (dataset URI with
// a browse button and a preview grid of a few images with their labels, loaded off the GUI
// thread), device and threads.
#include <QWidget>

#include "io/modelref.h"

class QComboBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace dilute::gui {

class ModelPanel;
struct PreviewData;

class ProjectPanel : public QWidget {
    Q_OBJECT
public:
    explicit ProjectPanel(QWidget* parent = nullptr);
    ~ProjectPanel() override;  // cuts the data field's signals first (see the .cpp)
    QString model() const;
    /// The model and how to open it (--arch, --weights-key, --heads, --img-size), for a job.
    io::ModelRef modelRef() const;
    ModelPanel* modelPanel() const { return model_; }
    QString data() const;
    QString device() const;
    int threads() const;
    void setModel(const QString& m);
    void setData(const QString& uri);
    /// Reloads the preview grid off the GUI thread (a large folder dataset takes a while to
    /// scan); previewReady(n) says when it is shown. A newer request replaces an older one.
    void refreshPreview();
    /// Images in the preview grid now; -1 while a preview is loading.
    int previewCount() const { return shown_; }

Q_SIGNALS:
    void changed();
    void threadsChanged(int threads);
    void previewReady(int images);

private:
    ModelPanel* model_;
    QComboBox* device_;
    QLineEdit* data_;
    QSpinBox* threads_;
    QLabel* dataInfo_;
    QGridLayout* grid_;
    int previewGeneration_ = 0, shown_ = -1;
    void showPreview(const PreviewData& preview);
};

}  // namespace dilute::gui
