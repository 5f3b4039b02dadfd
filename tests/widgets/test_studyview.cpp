// QtTest, offscreen: The Study view: the study job drawn (selectors, subsets) and a study folder never replaced.
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

class StudyViewTest : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase() { initWidgetTests(); }

    void studyJobDrawsSelectorsAndSubsetsAndNeverReplacesAStudy() {
        if (!haveFashion()) QSKIP("dataset-fashion-mnist not installed");
        QTemporaryDir tmp;
        MainWindow w;
        w.projectPanel()->setModel("vit_nano_patch7_28");  // a preset: zero-shot only (random weights)
        w.projectPanel()->setData("fashion-mnist");
        auto* v = w.studyView();
        const QString dir = tmp.filePath("study");
        v->setFolder(dir);
        QSignalSpy partials(w.runner()->worker(), &Worker::partial);
        auto* form = v->optionForm();
        qobject_cast<QSpinBox*>(form->editor("k"))->setValue(2);
        qobject_cast<QSpinBox*>(form->editor("calib"))->setValue(128);
        qobject_cast<QSpinBox*>(form->editor("eval_images"))->setValue(300);
        qobject_cast<QSpinBox*>(form->editor("seeds"))->setValue(2);
        QCOMPARE(qobject_cast<QComboBox*>(form->editor("exhaustive"))->currentText(), QString("auto"));
        auto* run = v->findChild<QPushButton*>("runStudy");
        QVERIFY(run);
        run->click();
        QVERIFY(waitIdle(w.runner(), 180000));
        QVERIFY2(w.lastError().isEmpty(), qPrintable(w.lastError()));
        QVERIFY(QFile::exists(dir + "/study.json"));
        QVERIFY(QFile::exists(dir + "/study.md"));
        QVERIFY(partials.size() >= 2);
        // nose, nose-abs, lowest, first, max-t, 2 random, min-t, oracle
        QCOMPARE(v->table()->rowCount(), 9);
        QCOMPARE(v->table()->item(0, 0)->text(), QString("nose"));
        QVERIFY(!v->table()->item(0, 3)->text().isEmpty());
        QVERIFY(v->table()->item(0, 4)->text().endsWith("of 15"));  // C(6,2) subsets, ranked
        // Scatter: every subset, then one series per selector; bars per selector.
        auto* sc = v->scatter();
        QVERIFY(sc->graphCount() >= 2);
        QCOMPARE(sc->graph(0)->data()->size(), 15);
        QVERIFY(sc->graph(1)->data()->size() >= 1);
        QVERIFY(v->bars()->plottableCount() >= 2);  // bars and their whiskers
        QVERIFY(v->summary()->text().contains("Spearman"));
        // The same folder again: the study goes beside it, the first one stays.
        const QByteArray first = [&] {
            QFile f(dir + "/study.json");
            f.open(QIODevice::ReadOnly);
            return f.readAll();
        }();
        run->click();
        QVERIFY(waitIdle(w.runner(), 180000));
        QCOMPARE(v->folder(), dir + "-2");
        QVERIFY(QFile::exists(dir + "-2/study.json"));
        QFile f(dir + "/study.json");
        QVERIFY(f.open(QIODevice::ReadOnly));
        QCOMPARE(f.readAll(), first);
        // Opening a study folder shows it; a broken one says which file and why.
        StudyView other;
        QString err;
        QVERIFY2(other.openStudy(dir, &err), qPrintable(err));
        QCOMPARE(other.table()->rowCount(), 9);
        QFile broken(tmp.filePath("broken/study.json"));
        QDir().mkpath(tmp.filePath("broken"));
        QVERIFY(broken.open(QIODevice::WriteOnly));
        broken.write("{\"format\": \"dilute.study/1\", \"model\": ");
        broken.close();
        QVERIFY(!other.openStudy(tmp.filePath("broken"), &err));
        QVERIFY2(err.contains("broken/study.json") && err.contains("not valid JSON"), qPrintable(err));
    }
};

QTEST_MAIN(StudyViewTest)
#include "test_studyview.moc"
