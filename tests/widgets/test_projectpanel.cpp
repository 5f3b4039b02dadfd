// QtTest, offscreen: The Project panel: the data preview (images, a folder, a bad file).
#include <qcustomplot.h>
#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFile>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QLineEdit>
#include <QProcess>
#include <QPushButton>
#include <QRegularExpression>
#include <QSignalSpy>
#include <QSpinBox>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QVBoxLayout>
#include <QtTest>

#include "analysis/optiontable.h"
#include "analysisview.h"
#include "bench/optiontable.h"
#include "clijob.h"
#include "experiment/optiontable.h"
#include "exportview.h"
#include "jobrunner.h"
#include "mainwindow.h"
#include "optionform.h"
#include "projectpanel.h"
#include "runsview.h"
#include "studyview.h"
#include "train/optiontable.h"
#include "trainingview.h"
#include "util/runtime.h"
#include "workbench_helpers.h"

// LibTorch has members called slots(): hide Qt's keyword macro while its headers are read.
#undef slots
#include "analysis/job.h"
#define slots Q_SLOTS

using namespace dilute;
using namespace dilute::gui;

using namespace dilute::gui::testing;

class ProjectPanelTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { initWidgetTests(); }

    void projectPreviewShowsImages() {
        if (!haveFashion()) QSKIP("dataset-fashion-mnist not installed");
        ProjectPanel p;
        p.setData("fashion-mnist");  // starts loading off the GUI thread
        QTRY_COMPARE(p.previewCount(), 8);
        p.setData("folder:/no/such/folder");
        QTRY_COMPARE(p.previewCount(), 0);
        // Two quick changes: only the last one is shown.
        p.setData("folder:/no/such/folder");
        p.setData("fashion-mnist");
        QTRY_COMPARE(p.previewCount(), 8);
    }

    void projectPreviewFolderColoursAndBadFile() {
        // A JPEG folder (decoded straight to RGB) shows its true colours; an undecodable file
        // gets its own cell instead of failing the whole preview.
        QTemporaryDir dir;
        QVERIFY(QDir().mkpath(dir.filePath("val/red")));
        QImage red(24, 24, QImage::Format_RGB888);
        red.fill(QColor(230, 20, 20));
        QVERIFY(red.save(dir.filePath("val/red/b.jpg"), "JPG", 95));
        QVERIFY(red.save(dir.filePath("val/red/c.png"), "PNG"));
        QFile bad(dir.filePath("val/red/a_broken.jpg"));
        QVERIFY(bad.open(QIODevice::WriteOnly));
        bad.write("\xff\xd8\xff\xe0 not a jpeg");
        bad.close();
        ProjectPanel p;
        p.setData("folder:" + dir.path());
        QTRY_COMPARE(p.previewCount(), 3);
        int undecodable = 0, reddish = 0;
        for (auto* l : p.findChildren<QLabel*>()) {
            if (l->text() == "undecodable") {
                ++undecodable;
                QVERIFY(l->toolTip().contains("a_broken.jpg"));
            }
            const QPixmap pm = l->pixmap();
            if (!pm.isNull()) {
                const QColor c = pm.toImage().pixelColor(pm.width() / 2, pm.height() / 2);
                QVERIFY2(c.red() > 180 && c.blue() < 70, qPrintable(c.name()));
                ++reddish;
            }
        }
        QCOMPARE(undecodable, 1);
        QCOMPARE(reddish, 2);
    }

    void closingWithTheDataFieldBeingEditedDoesNothing() {
        // QWidget's destructor takes the focus from the data field after the panel's own
        // destructor ran: the field's editingFinished must not reach the half-destroyed panel
        // (it used to: a heap corruption seen on CI, in the Runs view's root field too).
        auto* p = new ProjectPanel;
        p->show();
        QVERIFY(QTest::qWaitForWindowActive(p));
        auto* field = p->findChild<QLineEdit*>("data");
        QVERIFY(field);
        field->setFocus();
        QTRY_VERIFY(field->hasFocus());
        field->setText("folder:/typed/but/not/confirmed");
        QSignalSpy changed(p, &ProjectPanel::changed);
        delete p;
        QCOMPARE(changed.size(), 0);
    }
};

QTEST_MAIN(ProjectPanelTest)
#include "test_projectpanel.moc"
