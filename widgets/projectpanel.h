#pragma once
// The project side: model (preset or weights file), data (dataset URI with a browse button and
// a preview grid of a few images with their labels), device and threads.
#include <QWidget>

class QComboBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QSpinBox;

namespace dilute::gui {

class ProjectPanel : public QWidget {
    Q_OBJECT
public:
    explicit ProjectPanel(QWidget* parent = nullptr);
    QString model() const;
    QString data() const;
    QString device() const;
    int threads() const;
    void setModel(const QString& m);
    void setData(const QString& uri);
    /// Reloads the preview grid; returns the number of images shown.
    int refreshPreview();

Q_SIGNALS:
    void changed();
    void threadsChanged(int threads);

private:
    QComboBox *model_, *device_;
    QLineEdit* data_;
    QSpinBox* threads_;
    QLabel* dataInfo_;
    QGridLayout* grid_;
};

}  // namespace dilute::gui
